/* Fashion-MNIST from Debian's dataset-fashion-mnist (gzipped IDX files), read with zlib — or,
 * with -DFASHION_RAW, from the same files decompressed (no zlib: a cross-compiled program):
 * pixels scaled to [0, 1] exactly as Kiln does (byte / 255 in float), labels as int32. */
#ifndef FASHION_DATA_H
#define FASHION_DATA_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef FASHION_RAW
typedef FILE *gzFile;
#define gzopen(path, mode) fopen(path, mode)
#define gzread(f, buffer, n) ((int)fread(buffer, 1, n, f))
#define gzclose(f) fclose(f)
#define FASHION_SUFFIX ""
#else
#include <zlib.h>
#define FASHION_SUFFIX ".gz"
#endif

typedef struct { int count, side; float *pixels; int32_t *labels; } fashion_set;

static uint32_t fashion_be32(const unsigned char *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

/* Loads split `prefix` ("train" or "t10k") from `dir`; returns 0 on success, else prints why. */
static int fashion_load(const char *dir, const char *prefix, fashion_set *set) {
    char path[1024];
    unsigned char head[16];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte" FASHION_SUFFIX, dir, prefix);
    gzFile f = gzopen(path, "rb");
    if (!f || gzread(f, head, 16) != 16 || fashion_be32(head) != 0x803) { fprintf(stderr, "cannot read %s\n", path); if (f) gzclose(f); return 1; }
    int n = (int)fashion_be32(head + 4), side = (int)fashion_be32(head + 8);
    if (n <= 0 || side != 28 || fashion_be32(head + 12) != 28) { fprintf(stderr, "%s: unexpected header\n", path); gzclose(f); return 1; }
    size_t size = (size_t)n * 28 * 28;
    unsigned char *bytes = malloc(size);
    set->pixels = malloc(size * sizeof(float));
    if (!bytes || !set->pixels || gzread(f, bytes, (unsigned)size) != (int)size) { fprintf(stderr, "cannot read %s\n", path); gzclose(f); free(bytes); return 1; }
    gzclose(f);
    for (size_t i = 0; i < size; i++) set->pixels[i] = (float)bytes[i] / 255.0f;
    free(bytes);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte" FASHION_SUFFIX, dir, prefix);
    f = gzopen(path, "rb");
    if (!f || gzread(f, head, 8) != 8 || fashion_be32(head) != 0x801 || (int)fashion_be32(head + 4) != n) { fprintf(stderr, "cannot read %s\n", path); if (f) gzclose(f); return 1; }
    unsigned char *labels = malloc((size_t)n);
    set->labels = malloc((size_t)n * sizeof(int32_t));
    if (!labels || !set->labels || gzread(f, labels, (unsigned)n) != n) { fprintf(stderr, "cannot read %s\n", path); gzclose(f); free(labels); return 1; }
    gzclose(f);
    for (int i = 0; i < n; i++) set->labels[i] = labels[i];
    free(labels);
    set->count = n;
    set->side = side;
    return 0;
}
#endif
