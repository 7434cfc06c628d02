#include "model/torch_info.h"

#include <torch/torch.h>
#include <torch/version.h>

namespace tokenlens {

std::string torchVersion() { return TORCH_VERSION; }

int torchThreads() { return at::get_num_threads(); }

} // namespace tokenlens
