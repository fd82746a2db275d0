/* Fine-tunes LeNet-5 from C with a training bundle
 * (kiln compile Graphs/lenet5.kiln --train loss --optimizer SPEC --name lenet5_train -o DIR):
 *   train [DATA_DIR [OUT.safetensors [STEPS]]]
 * Step s trains on training examples [64 s, 64 s + 64) in file order (no shuffling), so a
 * Kiln run over the same batches reaches the same params; they are written to OUT as
 * safetensors (kiln run --params and Kiln's tests read it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lenet5_train.h"
#include "fashion_data.h"

static int write_params(lenet5_train_model *model, const char *path) {
    int n = lenet5_train_count(KILN_PARAM);
    char header[65536];
    size_t len = 0, offset = 0;
    len += (size_t)snprintf(header + len, sizeof header - len, "{");
    for (int i = 0; i < n; i++) {
        const kiln_tensor_info *t = lenet5_train_info(KILN_PARAM, i);
        len += (size_t)snprintf(header + len, sizeof header - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", t->name, t->dtype == KILN_F32 ? "F32" : "I32");
        for (int d = 0; d < t->rank; d++) len += (size_t)snprintf(header + len, sizeof header - len, "%s%lld", d ? "," : "", (long long)t->dims[d]);
        len += (size_t)snprintf(header + len, sizeof header - len, "],\"data_offsets\":[%zu,%zu]}", offset, offset + t->bytes);
        offset += t->bytes;
        if (len >= sizeof header - 64) { fprintf(stderr, "too many params for the header buffer\n"); return 1; }
    }
    len += (size_t)snprintf(header + len, sizeof header - len, "}");
    while (len % 8) header[len++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); return 1; }
    unsigned char size[8];
    for (int b = 0; b < 8; b++) size[b] = (unsigned char)((uint64_t)len >> (8 * b));
    int ok = fwrite(size, 1, 8, f) == 8 && fwrite(header, 1, len, f) == len;
    for (int i = 0; ok && i < n; i++) {
        const kiln_tensor_info *t = lenet5_train_info(KILN_PARAM, i);
        void *data = malloc(t->bytes);
        ok = data && lenet5_train_get_param(model, i, data, t->bytes) == KILN_OK && fwrite(data, 1, t->bytes, f) == t->bytes;
        free(data);
    }
    if (fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "cannot write %s\n", path);
    return !ok;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    const char *out = argc > 2 ? argv[2] : "trained.safetensors";
    int steps = argc > 3 ? atoi(argv[3]) : 100;
    fashion_set train;
    if (fashion_load(dir, "train", &train) != 0) return 1;
    lenet5_train_model *model = NULL;
    if (lenet5_train_create(&model, NULL) != KILN_OK) { fprintf(stderr, "lenet5_train_create: %s\n", lenet5_train_error(NULL)); return 1; }
    int x = lenet5_train_find(KILN_INPUT, "x"), labels = lenet5_train_find(KILN_INPUT, "labels"), loss = lenet5_train_find(KILN_OUTPUT, "loss");
    const kiln_tensor_info *xi = lenet5_train_info(KILN_INPUT, x);
    if (!xi || labels < 0 || loss < 0) { fprintf(stderr, "the bundle has no input x, input labels or output loss\n"); return 1; }
    int batch = (int)xi->dims[0], image = 28 * 28;
    if (steps < 1 || (long)steps * batch > train.count) { fprintf(stderr, "steps must be 1..%d\n", train.count / batch); return 1; }
    for (int s = 0; s < steps; s++) {
        float value = 0;
        if (lenet5_train_set_input(model, x, train.pixels + (size_t)s * batch * image, xi->bytes) != KILN_OK
            || lenet5_train_set_input_named(model, "labels", train.labels + (size_t)s * batch, (size_t)batch * sizeof(int32_t)) != KILN_OK
            || lenet5_train_run(model) != KILN_OK
            || lenet5_train_get_output(model, loss, &value, sizeof value) != KILN_OK) {
            fprintf(stderr, "step %d: %s\n", s, lenet5_train_error(model));
            return 1;
        }
        if (s == 0 || (s + 1) % 20 == 0) printf("step %3d: loss %.4f\n", s + 1, value);
    }
    int rc = write_params(model, out);
    if (rc == 0) printf("%d steps; params written to %s\n", steps, out);
    lenet5_train_free(model);
    free(train.pixels); free(train.labels);
    return rc;
}
