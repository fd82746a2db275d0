// cblas.h from Debian's libopenblas-dev also declares openblas_set_num_threads,
// which the runtime uses to pin OpenBLAS's thread count.
#include <cblas.h>
