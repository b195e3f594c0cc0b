// toml++ compiled into casacal rather than linked from its shared library:
// the parser inlines into itself at our optimisation level, which makes
// loading a large site markedly faster (docs/performance.md). Every file
// sees the same TOML_* settings through the casacal_config target.
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
