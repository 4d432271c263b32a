#pragma once
/// @file
/// @brief Module header: Gemma 4 config, weights, KV cache, hook points and the forward pass.
#include "scalpel/model/config.hpp"
#include "scalpel/model/forward.hpp"
#include "scalpel/model/hf_config.hpp"
#include "scalpel/model/hooks.hpp"
#include "scalpel/model/kv_cache.hpp"
#include "scalpel/model/model.hpp"
#include "scalpel/model/weights.hpp"
