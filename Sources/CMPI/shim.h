// Open MPI's C API (Debian's libopenmpi-dev; the include path comes from ompi-c.pc).
// MPI_COMM_WORLD, MPI_SUM, MPI_FLOAT, … are macros over addresses of global structs, which
// Swift cannot import: these inline functions hand them over as ordinary values.
#include <mpi.h>

static inline MPI_Comm kiln_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Op kiln_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op kiln_mpi_max(void) { return MPI_MAX; }
static inline MPI_Datatype kiln_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype kiln_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype kiln_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Errhandler kiln_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *kiln_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int kiln_mpi_success(void) { return MPI_SUCCESS; }
static inline int kiln_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int kiln_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline MPI_Request kiln_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *kiln_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
