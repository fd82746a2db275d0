// cblas.h from Debian's libopenblas-dev also declares openblas_set_num_threads,
// which the runtime uses to pin OpenBLAS's thread count.
#include <cblas.h>
// The kernel family OpenBLAS picked for this CPU ("Haswell", "SkylakeX", or "Prescott" when
// its detection does not know the CPU).
char *openblas_get_corename(void);
