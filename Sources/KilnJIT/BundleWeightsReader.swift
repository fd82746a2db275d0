extension BundleRuntimeSource {
    /// The runtime's safetensors reader (`NAME_create(&m, path)`): each param found by name in
    /// the JSON header, its dtype, shape and byte range checked before its data is read.
    static let weightsReader = #"""
        /* Reads every param from a safetensors file: an 8-byte little-endian header size, a JSON
         * header {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...},
         * then the data. Each param's entry is found by its quoted name followed by ':'. */
        static int kb_integers(const char *from, const char *key, const char *limit, int64_t *out, int most) {
            const char *k = strstr(from, key);
            if (!k || k > limit) return -1;
            const char *s = strchr(k, '[');
            if (!s || s > limit) return -1;
            int n = 0;
            for (s++; *s && *s != ']'; ) {
                while (*s == ' ' || *s == ',') s++;
                if (*s == ']') break;
                char *end = NULL;
                long long v = strtoll(s, &end, 10);
                if (end == s || n >= most) return -1;
                out[n++] = v;
                s = end;
            }
            return n;
        }

        static int kb_load_weights(struct KB_NAME *m, const char *path, char *error, size_t size) {
            FILE *f = fopen(path, "rb");
            if (!f) { snprintf(error, size, "cannot open weights '%s': %s", path, strerror(errno)); return KILN_ERROR_WEIGHTS; }
            unsigned char prefix[8];
            int rc = KILN_ERROR_WEIGHTS;
            char *json = NULL;
            if (fread(prefix, 1, 8, f) != 8) { snprintf(error, size, "'%s' is not a safetensors file (shorter than 8 bytes)", path); goto done; }
            uint64_t n = 0;
            for (int i = 7; i >= 0; i--) n = (n << 8) | prefix[i];
            if (fseek(f, 0, SEEK_END) != 0) { snprintf(error, size, "cannot read '%s'", path); goto done; }
            long total = ftell(f);
            if (total < 0 || n > (uint64_t)total - 8 || n > (100u << 20)) { snprintf(error, size, "'%s' is not a safetensors file (header of %llu bytes)", path, (unsigned long long)n); goto done; }
            json = malloc((size_t)n + 1);
            if (!json) { rc = KILN_ERROR_MEMORY; snprintf(error, size, "out of memory reading '%s'", path); goto done; }
            if (fseek(f, 8, SEEK_SET) != 0 || fread(json, 1, (size_t)n, f) != (size_t)n) { snprintf(error, size, "cannot read the header of '%s'", path); goto done; }
            json[n] = 0;
            for (int i = 0; i < KB_COUNT_PARAMS; i++) {
                const kiln_tensor_info *t = &kb_params[i];
                char needle[300];
                snprintf(needle, sizeof needle, "\"%s\"", t->name);
                const char *entry = NULL;
                for (const char *at = strstr(json, needle); at; at = strstr(at + 1, needle)) {
                    const char *after = at + strlen(needle);
                    while (*after == ' ') after++;
                    if (*after == ':') { entry = after; break; }
                }
                if (!entry) { snprintf(error, size, "'%s' has no param '%s'", path, t->name); goto done; }
                const char *close = strchr(entry, '}');
                if (!close) close = json + n;
                const char *dtype = t->dtype == KILN_F32 ? "\"F32\"" : "\"I32\"";
                const char *d = strstr(entry, "\"dtype\"");
                if (!d || d > close || !strstr(d, dtype) || strstr(d, dtype) > close) { snprintf(error, size, "'%s': param '%s' is not %s", path, t->name, dtype); goto done; }
                int64_t shape[16], offsets[2];
                int rank = kb_integers(entry, "\"shape\"", close, shape, 16);
                int same = rank == t->rank;
                for (int r = 0; same && r < rank; r++) same = shape[r] == t->dims[r];
                if (!same) { snprintf(error, size, "'%s': param '%s' has another shape than the bundle's", path, t->name); goto done; }
                if (kb_integers(entry, "\"data_offsets\"", close, offsets, 2) != 2 || offsets[0] < 0 || offsets[1] - offsets[0] != (int64_t)t->bytes
                    || (uint64_t)offsets[1] > (uint64_t)total - 8 - n) {
                    snprintf(error, size, "'%s': param '%s' has bad data offsets", path, t->name); goto done;
                }
                if (fseek(f, (long)(8 + n + (uint64_t)offsets[0]), SEEK_SET) != 0 || fread(m->table[kb_params_slots[i]], 1, t->bytes, f) != t->bytes) {
                    snprintf(error, size, "cannot read param '%s' from '%s'", t->name, path); goto done;
                }
            }
            rc = KILN_OK;
        done:
            free(json);
            fclose(f);
            return rc;
        }

        """#
}
