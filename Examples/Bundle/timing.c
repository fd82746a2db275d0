#define _POSIX_C_SOURCE 200809L
/* Start-up and step time of a bundle, for Docs/AOT.md: cc -DBUNDLE=lenet5_train -DHEADER='"lenet5_train.h"' …
 *   timing [STEPS]
 * Inputs stay as created (zeros; the default learning rate), which a step's time does not depend on. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define F(x) CAT(BUNDLE, x)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 50;
    if (steps < 1 || steps > 100000) return 2;
    double start = now();
    F(_model) *model = NULL;
    if (F(_create)(&model, NULL) != KILN_OK) { fprintf(stderr, "%s\n", F(_error)(NULL)); return 1; }
    double created = now();
    if (F(_run)(model) != KILN_OK) { fprintf(stderr, "%s\n", F(_error)(model)); return 1; }
    double first = now();
    double *times = malloc(sizeof(double) * (size_t)steps);
    if (!times) return 1;
    for (int i = 0; i < steps; i++) {
        double t = now();
        if (F(_run)(model) != KILN_OK) { fprintf(stderr, "%s\n", F(_error)(model)); return 1; }
        times[i] = now() - t;
    }
    qsort(times, (size_t)steps, sizeof(double), compare);
    printf("create %.2f ms, first run %.2f ms, median step %.3f ms over %d steps\n",
           1e3 * (created - start), 1e3 * (first - created), 1e3 * times[steps / 2], steps);
    F(_free)(model);
    free(times);
    return 0;
}
