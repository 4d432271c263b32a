#pragma once
/// @file
/// @brief Module header: edit policies, plans, static application with undo, run-time hooks.
#include "scalpel/edit/apply.hpp"
#include "scalpel/edit/diff.hpp"
#include "scalpel/edit/plan.hpp"
#include "scalpel/edit/policies.hpp"
#include "scalpel/edit/runtime.hpp"
#include "scalpel/edit/save.hpp"
