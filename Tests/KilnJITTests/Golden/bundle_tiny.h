/* tiny.h: ahead-of-time bundle of Kiln graph 'tiny' (kiln compile).
 *
 * One run is one training step: the params are updated in place.
 * Link: cc prog.c tiny_runtime.c -L. -ltiny -lopenblas -lm -lpthread
 * (libopenblas only if the kernels call cblas_sgemm; an unused -lopenblas does no harm).
 * The weights are embedded in libtiny.a; `weights_path` may still name a safetensors file to start from instead.
 *
 * Inputs:
 *   0: x f32[4, 3]
 *   1: labels i32[4]
 *   2: lr f32[] (default 0.1)
 * Outputs:
 *   0: loss f32[]
 *   1: logits f32[4, 2]
 * Params and state (read and written with tiny_get_param / tiny_set_param):
 *   0: w f32[3, 2]
 *   1: b f32[2]
 *   2: vel_w f32[3, 2] (state)
 *   3: vel_b f32[2] (state)
 *
 * Threads: KILN_THREADS (default: the cores this process may run on). One instance
 * runs one step at a time; separate instances may run concurrently.
 */
#ifndef TINY_H
#define TINY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef KILN_BUNDLE_COMMON
#define KILN_BUNDLE_COMMON
/* Status codes every function returns (0 is success). */
enum {
    KILN_OK = 0,
    KILN_ERROR_ARGUMENT = 1, /* a null pointer, an index out of range, a size that does not match */
    KILN_ERROR_MEMORY = 2,   /* an allocation or a thread failed */
    KILN_ERROR_WEIGHTS = 3,  /* the weights file is missing, unreadable or lacks a param */
    KILN_ERROR_DATA = 4      /* a kernel found bad data (a label out of range): see NAME_error */
};
/* Which list a tensor is in. */
enum { KILN_INPUT = 0, KILN_OUTPUT = 1, KILN_PARAM = 2 };
/* Element types. */
enum { KILN_F32 = 0, KILN_I32 = 1 };
/* A tensor the bundle names: dims[0..rank), row-major; bytes = 4 * elements. */
typedef struct kiln_tensor_info {
    const char *name;
    int dtype;
    int rank;
    const int64_t *dims;
    size_t bytes;
} kiln_tensor_info;
#endif

#define TINY_TRAINS 1
#define TINY_INPUTS 3
#define TINY_OUTPUTS 2
#define TINY_PARAMS 4

/* An instance: its buffers, params and worker threads. */
typedef struct tiny tiny_model;

/* Creates an instance: buffers, worker threads and params. weights_path NULL takes the
 * embedded weights; otherwise a safetensors file holding every param (F32/I32, the shapes
 * above). On success *out is the instance; on failure *out is NULL. */
int tiny_create(tiny_model **out, const char *weights_path);
/* Frees the instance (NULL is allowed). */
void tiny_free(tiny_model *model);

/* Number of tensors of a kind (KILN_INPUT, KILN_OUTPUT, KILN_PARAM); -1 for another kind. */
int tiny_count(int kind);
/* Description of tensor `index` of `kind`, or NULL. */
const kiln_tensor_info *tiny_info(int kind, int index);
/* Index of the tensor of `kind` named `name`, or -1. */
int tiny_find(int kind, const char *name);

/* Copies `bytes` bytes (exactly the input's size) into input `index`. */
int tiny_set_input(tiny_model *model, int index, const void *data, size_t bytes);
/* Runs one step: a training step (params updated). Step numbers (fed to random ops)
 * count from 0 and advance by one per successful run. */
int tiny_run(tiny_model *model);
/* Copies output `index` of the last run (exactly its size) into data. */
int tiny_get_output(const tiny_model *model, int index, void *data, size_t bytes);
/* The same, by name (KILN_ERROR_ARGUMENT for a name the bundle does not have). */
int tiny_set_input_named(tiny_model *model, const char *name, const void *data, size_t bytes);
int tiny_get_output_named(const tiny_model *model, const char *name, void *data, size_t bytes);
/* Reads or replaces param `index` (exactly its size). */
int tiny_get_param(const tiny_model *model, int index, void *data, size_t bytes);
int tiny_set_param(tiny_model *model, int index, const void *data, size_t bytes);
/* The step number of the next run, and setting it (0 to 2^53). */
int64_t tiny_get_step(const tiny_model *model);
int tiny_set_step(tiny_model *model, int64_t step);
/* What the last failing call of this instance reported ("" if none); NULL: why the last
 * tiny_create on this thread failed. */
const char *tiny_error(const tiny_model *model);

#ifdef __cplusplus
}
#endif
#endif
