/* A generic driver for any bundle, for Kiln's tests (CompileCommandTests): compile with
 * -DBUNDLE=<name> -DHEADER='"<name>.h"'.
 *   bundle_driver DIR STEPS
 * Reads input i from DIR/input_<i>.bin (its exact size), runs STEPS steps on those inputs, and
 * writes every output to DIR/output_<i>.bin and every param to DIR/param_<i>.bin. */
#include <stdio.h>
#include <stdlib.h>
#include HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define F(x) CAT(BUNDLE, x)

static int transfer(const char *dir, const char *kind, int i, void *data, size_t bytes, int write) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_%d.bin", dir, kind, i);
    FILE *f = fopen(path, write ? "wb" : "rb");
    if (!f) { perror(path); return 1; }
    size_t n = write ? fwrite(data, 1, bytes, f) : fread(data, 1, bytes, f);
    if (fclose(f) != 0 || n != bytes) { fprintf(stderr, "%s: short %s\n", path, write ? "write" : "read"); return 1; }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int steps = atoi(argv[2]);
    F(_model) *m = NULL;
    if (F(_create)(&m, NULL) != KILN_OK) { fprintf(stderr, "create: %s\n", F(_error)(NULL)); return 1; }
    for (int i = 0; i < F(_count)(KILN_INPUT); i++) {
        const kiln_tensor_info *t = F(_info)(KILN_INPUT, i);
        void *data = malloc(t->bytes ? t->bytes : 1);
        if (!data || transfer(argv[1], "input", i, data, t->bytes, 0) || F(_set_input)(m, i, data, t->bytes) != KILN_OK) return 1;
        free(data);
    }
    for (int s = 0; s < steps; s++) {
        if (F(_run)(m) != KILN_OK) { fprintf(stderr, "step %d: %s\n", s, F(_error)(m)); return 1; }
    }
    for (int kind = KILN_OUTPUT; kind <= KILN_PARAM; kind++) {
        for (int i = 0; i < F(_count)(kind); i++) {
            const kiln_tensor_info *t = F(_info)(kind, i);
            void *data = malloc(t->bytes ? t->bytes : 1);
            int rc = kind == KILN_OUTPUT ? F(_get_output)(m, i, data, t->bytes) : F(_get_param)(m, i, data, t->bytes);
            if (!data || rc != KILN_OK || transfer(argv[1], kind == KILN_OUTPUT ? "output" : "param", i, data, t->bytes, 1)) return 1;
            free(data);
        }
    }
    F(_free)(m);
    return 0;
}
