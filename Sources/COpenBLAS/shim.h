// Debian installs the OpenBLAS flavour of cblas.h under the multiarch include path.
#include <x86_64-linux-gnu/cblas.h>

// Stops OpenBLAS's worker threads (its fork handler's call; the next threaded call would start them again).
int blas_thread_shutdown_(void);
