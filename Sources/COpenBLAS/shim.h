// Debian installs the OpenBLAS flavour of cblas.h under the multiarch include path.
#include <x86_64-linux-gnu/cblas.h>
