/* The C API's errors, for Kiln's tests: a training bundle of LeNet-5 compiled with
 * --weights file --name lenet5_train.
 *   errors WEIGHTS.safetensors MISSING.safetensors [WRONG_SHAPE.safetensors]
 * Each line: what was tried, the status code, the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lenet5_train.h"

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: errors WEIGHTS MISSING\n"); return 2; }
    lenet5_train_model *model = NULL;
    int rc = lenet5_train_create(&model, NULL);
    printf("no weights: %d %s\n", rc, lenet5_train_error(NULL));
    rc = lenet5_train_create(&model, argv[2]);
    printf("missing file: %d %s\n", rc, lenet5_train_error(NULL));
    if (argc > 3) {
        rc = lenet5_train_create(&model, argv[3]);
        printf("wrong shape: %d %s\n", rc, lenet5_train_error(NULL));
    }
    rc = lenet5_train_create(&model, argv[1]);
    if (rc != KILN_OK) { printf("create: %d %s\n", rc, lenet5_train_error(NULL)); return 1; }
    int x = lenet5_train_find(KILN_INPUT, "x"), labels = lenet5_train_find(KILN_INPUT, "labels");
    float three[3] = {0};
    rc = lenet5_train_set_input(model, x, three, sizeof three);
    printf("wrong size: %d %s\n", rc, lenet5_train_error(model));
    printf("unknown name: %d\n", lenet5_train_find(KILN_INPUT, "nope"));
    rc = lenet5_train_set_input_named(model, "nope", three, sizeof three);
    printf("unknown input: %d %s\n", rc, lenet5_train_error(model));
    printf("index out of range: %d\n", lenet5_train_set_input(model, 99, three, sizeof three));
    int32_t bad[64] = {0};
    bad[5] = 12;
    lenet5_train_set_input(model, labels, bad, sizeof bad);
    rc = lenet5_train_run(model);
    printf("bad label: %d %s\n", rc, lenet5_train_error(model));
    printf("step after bad label: %lld\n", (long long)lenet5_train_get_step(model));
    lenet5_train_free(model);
    lenet5_train_free(NULL);
    return 0;
}
