/// The C header of a bundle, `NAME.h`: the API a program includes, documented in place.
/// Every function returns a status code (never aborts); tensors are found by name or index
/// and described by `kiln_tensor_info`. Declarations shared by every bundle are guarded, so
/// several bundles' headers can be included together.
enum BundleHeader {
    static func text(_ layout: BundleLayout) -> String {
        let n = layout.name
        let upper = n.uppercased()
        let weights = layout.embedWeights
            ? "The weights are embedded in lib\(n).a; `weights_path` may still name a safetensors file to start from instead."
            : "The weights are not embedded: pass the path of \(n).safetensors (or any safetensors file holding every param)."
        func list(_ tensors: [BundleLayout.Tensor], _ extra: (Int) -> String = { _ in "" }) -> String {
            tensors.enumerated().map { i, t in
                " *   \(i): \(t.name) \(t.dtype == 0 ? "f32" : "i32")[\(t.dims.map(String.init).joined(separator: ", "))]\(extra(i))"
            }.joined(separator: "\n")
        }
        let defaults = Dictionary(layout.defaults.map { ($0.input, $0.value) }, uniquingKeysWith: { a, _ in a })
        return """
            /* \(n).h: ahead-of-time bundle of Kiln graph '\(layout.graphName)' (kiln compile).
             *
             * \(layout.trains ? "One run is one training step: the params are updated in place." : "One run is one inference.")
             * Link: cc prog.c \(n)_runtime.c -L. -l\(n) -lopenblas -lm -lpthread
             * (libopenblas only if the kernels call cblas_sgemm; an unused -lopenblas does no harm).
             * \(weights)
             *
             * Inputs:
            \(list(layout.inputs) { defaults[$0].map { " (default \($0))" } ?? "" })
             * Outputs:
            \(list(layout.outputs))
             * Params and state (read and written with \(n)_get_param / \(n)_set_param):
            \(list(layout.params) { layout.trainable[$0] ? "" : " (state)" })
             *
             * Threads: KILN_THREADS (default: the cores this process may run on). One instance
             * runs one step at a time; separate instances may run concurrently.
             */
            #ifndef \(upper)_H
            #define \(upper)_H

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

            #define \(upper)_TRAINS \(layout.trains ? 1 : 0)
            #define \(upper)_INPUTS \(layout.inputs.count)
            #define \(upper)_OUTPUTS \(layout.outputs.count)
            #define \(upper)_PARAMS \(layout.params.count)

            /* An instance: its buffers, params and worker threads. */
            typedef struct \(n) \(n)_model;

            /* Creates an instance: buffers, worker threads and params. weights_path NULL takes the
             * embedded weights; otherwise a safetensors file holding every param (F32/I32, the shapes
             * above). On success *out is the instance; on failure *out is NULL. */
            int \(n)_create(\(n)_model **out, const char *weights_path);
            /* Frees the instance (NULL is allowed). */
            void \(n)_free(\(n)_model *model);

            /* Number of tensors of a kind (KILN_INPUT, KILN_OUTPUT, KILN_PARAM); -1 for another kind. */
            int \(n)_count(int kind);
            /* Description of tensor `index` of `kind`, or NULL. */
            const kiln_tensor_info *\(n)_info(int kind, int index);
            /* Index of the tensor of `kind` named `name`, or -1. */
            int \(n)_find(int kind, const char *name);

            /* Copies `bytes` bytes (exactly the input's size) into input `index`. */
            int \(n)_set_input(\(n)_model *model, int index, const void *data, size_t bytes);
            /* Runs one step: \(layout.trains ? "a training step (params updated)" : "an inference"). Step numbers (fed to random ops)
             * count from 0 and advance by one per successful run. */
            int \(n)_run(\(n)_model *model);
            /* Copies output `index` of the last run (exactly its size) into data. */
            int \(n)_get_output(const \(n)_model *model, int index, void *data, size_t bytes);
            /* The same, by name (KILN_ERROR_ARGUMENT for a name the bundle does not have). */
            int \(n)_set_input_named(\(n)_model *model, const char *name, const void *data, size_t bytes);
            int \(n)_get_output_named(const \(n)_model *model, const char *name, void *data, size_t bytes);
            /* Reads or replaces param `index` (exactly its size). */
            int \(n)_get_param(const \(n)_model *model, int index, void *data, size_t bytes);
            int \(n)_set_param(\(n)_model *model, int index, const void *data, size_t bytes);
            /* The step number of the next run, and setting it (0 to 2^53). */
            int64_t \(n)_get_step(const \(n)_model *model);
            int \(n)_set_step(\(n)_model *model, int64_t step);
            /* What the last failing call of this instance reported ("" if none); NULL: why the last
             * \(n)_create on this thread failed. */
            const char *\(n)_error(const \(n)_model *model);

            #ifdef __cplusplus
            }
            #endif
            #endif

            """
    }
}
