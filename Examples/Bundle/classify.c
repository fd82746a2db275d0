/* Classifies the Fashion-MNIST test set with an inference bundle of LeNet-5
 * (kiln compile Graphs/lenet5.kiln --params CKPT -o DIR) and prints the accuracy:
 *   classify [DATA_DIR [COUNT]]     (COUNT: only the first COUNT test images)
 * The bundle's batch is fixed at compile time (static shapes); the last, partial batch is
 * padded with zero images whose predictions are not counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lenet5.h"
#include "fashion_data.h"

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    fashion_set test;
    if (fashion_load(dir, "t10k", &test) != 0) return 1;
    if (argc > 2) {
        int count = atoi(argv[2]);
        if (count < 1 || count > test.count) { fprintf(stderr, "COUNT must be 1..%d\n", test.count); return 1; }
        test.count = count;
    }
    lenet5_model *model = NULL;
    if (lenet5_create(&model, NULL) != KILN_OK) { fprintf(stderr, "lenet5_create: %s\n", lenet5_error(NULL)); return 1; }
    int x = lenet5_find(KILN_INPUT, "x"), logits = lenet5_find(KILN_OUTPUT, "logits");
    const kiln_tensor_info *xi = lenet5_info(KILN_INPUT, x), *li = lenet5_info(KILN_OUTPUT, logits);
    if (!xi || !li || li->rank != 2) { fprintf(stderr, "the bundle has no input x or output logits[batch, classes]\n"); return 1; }
    int batch = (int)xi->dims[0], classes = (int)li->dims[1], image = 28 * 28, correct = 0;
    float *in = calloc((size_t)batch * image, sizeof(float)), *out = malloc(li->bytes);
    if (!in || !out) return 1;
    for (int start = 0; start < test.count; start += batch) {
        int rows = test.count - start < batch ? test.count - start : batch;
        memset(in, 0, xi->bytes);
        memcpy(in, test.pixels + (size_t)start * image, (size_t)rows * image * sizeof(float));
        if (lenet5_set_input(model, x, in, xi->bytes) != KILN_OK || lenet5_run(model) != KILN_OK
            || lenet5_get_output(model, logits, out, li->bytes) != KILN_OK) {
            fprintf(stderr, "lenet5: %s\n", lenet5_error(model));
            return 1;
        }
        for (int r = 0; r < rows; r++) {
            int best = 0;
            for (int c = 1; c < classes; c++) if (out[r * classes + c] > out[r * classes + best]) best = c;
            correct += best == test.labels[start + r];
        }
    }
    printf("test accuracy %.4f (%d of %d)\n", (double)correct / test.count, correct, test.count);
    lenet5_free(model);
    free(in); free(out); free(test.pixels); free(test.labels);
    return 0;
}
