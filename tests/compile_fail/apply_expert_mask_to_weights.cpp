// Routing exclusion is run-time only: applying it to weights must not compile (it is not a weight_edit).
#include "scalpel/edit/apply.hpp"

void f(scalpel::model::gemma4_model& m) {
#ifdef SCALPEL_SHOULD_FAIL
  (void)scalpel::edit::apply(m, scalpel::edit::expert_mask{1, {2}});
#else
  (void)scalpel::edit::apply(m, scalpel::edit::expert_silence{1, {2}});
#endif
}
