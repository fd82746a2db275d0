/// The fixed part of a bundle's C runtime (`KB_NAME` becomes the bundle's name). The worker
/// pool follows `KernelPool`: persistent threads handed each parallel kernel through an atomic
/// generation counter, spinning briefly before sleeping on a condition variable, the caller
/// running the first range; ranges are split exactly as the JIT splits them, so a bundle
/// compiled for the host computes what the JIT computes, bit for bit.
enum BundleRuntimeSource {
    static let prelude = #"""
        #include <errno.h>
        #include <pthread.h>
        #include <sched.h>
        #include <stdatomic.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>

        typedef void (*kb_kernel)(int64_t, int64_t, float **, void *, int64_t, int64_t);
        /* Generated into lib<name>.a: the step program (kernel calls in schedule order). */
        int KB_NAME_step(float **table, float **args, void *ctx, int64_t step);
        int64_t KB_NAME_status(void *ctx);
        void KB_NAME_fail(void *ctx, int64_t id, int64_t a, int64_t b);
        void KB_NAME_parallel_for(void *kernel, int64_t extent, float **args, void *ctx, int64_t step, int64_t failures);

        /* A table slot: 0 input, 1 param (value: index), 2 arena (value: offset), 3 own buffer, 4 scratch (value: bytes). */
        struct kb_slot { int kind; int64_t value; };
        struct kb_default { int input; float value; };

        """#

    static let body = #"""

        typedef struct kb_worker { struct kb_pool *pool; int index; pthread_t thread; } kb_worker;
        typedef struct kb_pool {
            int workers, started;
            kb_worker *threads;
            pthread_mutex_t lock;
            pthread_cond_t wake;
            int sleeping;
            atomic_long generation;
            atomic_long next; /* the next unclaimed chunk of the current kernel */
            atomic_int pending;
            atomic_int stop;
            kb_kernel kernel;
            int64_t extent, step, failures, chunks;
            float **args;
            void *ctx;
        } kb_pool;

        struct KB_NAME {
            atomic_long status; /* set by KB_NAME_fail: the step program stops after the kernel */
            pthread_mutex_t fail_lock;
            int failed;
            int64_t fail_id, fail_a, fail_b;
            kb_pool pool;
            void *table[KB_SLOTS];
            void *args[KB_ARGS];
            void *owned[KB_SLOTS];
            void *arena;
            int64_t step;
            char error[512];
        };

        static _Thread_local char kb_create_error[512];

        int64_t KB_NAME_status(void *ctx) {
            return atomic_load_explicit(&((struct KB_NAME *)ctx)->status, memory_order_acquire);
        }

        void KB_NAME_fail(void *ctx, int64_t id, int64_t a, int64_t b) {
            struct KB_NAME *m = ctx;
            pthread_mutex_lock(&m->fail_lock);
            if (!m->failed) { m->failed = 1; m->fail_id = id; m->fail_a = a; m->fail_b = b; }
            atomic_store_explicit(&m->status, 1, memory_order_release);
            pthread_mutex_unlock(&m->fail_lock);
        }

        static void kb_chunk(kb_pool *p, int64_t c) {
            p->kernel(p->extent * c / p->chunks, p->extent * (c + 1) / p->chunks, p->args, p->ctx, p->step, p->failures);
        }

        /* Chunks are claimed one at a time (as the JIT's KernelPool does): a thread that starts late
           or shares its core takes fewer of them. Every worker checks in once per kernel (pending),
           so none can still be claiming when the next kernel is published. */
        static void kb_claim(kb_pool *p) {
            for (;;) {
                long c = atomic_fetch_add_explicit(&p->next, 1, memory_order_acq_rel);
                if (c >= p->chunks) return;
                kb_chunk(p, c);
            }
        }

        static void *kb_work(void *argument) {
            kb_worker *w = argument;
            kb_pool *p = w->pool;
            long seen = 0;
            for (;;) {
                int spins = 0;
                while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen) {
                    if (++spins < 20000) continue;
                    pthread_mutex_lock(&p->lock);
                    p->sleeping++;
                    while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen) pthread_cond_wait(&p->wake, &p->lock);
                    p->sleeping--;
                    pthread_mutex_unlock(&p->lock);
                }
                seen = atomic_load_explicit(&p->generation, memory_order_acquire);
                if (atomic_load_explicit(&p->stop, memory_order_acquire)) return NULL;
                kb_claim(p);
                atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
            }
        }

        void KB_NAME_parallel_for(void *kernel, int64_t extent, float **args, void *ctx, int64_t step, int64_t failures) {
            kb_pool *p = &((struct KB_NAME *)ctx)->pool;
            kb_kernel k;
            memcpy(&k, &kernel, sizeof k);
            if (p->started == 0 || extent <= 1) { k(0, extent, args, ctx, step, failures); return; }
            p->kernel = k; p->extent = extent; p->args = args; p->ctx = ctx; p->step = step; p->failures = failures;
            p->chunks = 4 * (int64_t)(p->started + 1) < extent ? 4 * (int64_t)(p->started + 1) : extent;
            atomic_store_explicit(&p->next, 0, memory_order_relaxed);
            atomic_store_explicit(&p->pending, p->started, memory_order_relaxed);
            atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
            pthread_mutex_lock(&p->lock);
            if (p->sleeping > 0) pthread_cond_broadcast(&p->wake);
            pthread_mutex_unlock(&p->lock);
            kb_claim(p);
            while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {}
        }

        /* KILN_THREADS, else the cores this process may run on. */
        static int kb_threads(void) {
            const char *text = getenv("KILN_THREADS");
            if (text && *text) {
                char *end = NULL;
                long n = strtol(text, &end, 10);
                if (end && *end == 0 && n > 0 && n <= 4096) return (int)n;
            }
            cpu_set_t set;
            if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            return n > 0 && n <= 4096 ? (int)n : 1;
        }

        static void kb_pool_stop(kb_pool *p) {
            if (p->started > 0) {
                atomic_store_explicit(&p->stop, 1, memory_order_release);
                atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
                pthread_mutex_lock(&p->lock);
                pthread_cond_broadcast(&p->wake);
                pthread_mutex_unlock(&p->lock);
                for (int i = 0; i < p->started; i++) pthread_join(p->threads[i].thread, NULL);
            }
            free(p->threads);
            pthread_cond_destroy(&p->wake);
            pthread_mutex_destroy(&p->lock);
        }

        static int kb_pool_start(kb_pool *p) {
            pthread_mutex_init(&p->lock, NULL);
            pthread_cond_init(&p->wake, NULL);
            p->workers = kb_threads() - 1;
            if (p->workers <= 0) return KILN_OK;
            p->threads = calloc((size_t)p->workers, sizeof *p->threads);
            if (!p->threads) return KILN_ERROR_MEMORY;
            for (int i = 0; i < p->workers; i++) {
                p->threads[i].pool = p;
                p->threads[i].index = i + 1;
                if (pthread_create(&p->threads[i].thread, NULL, kb_work, &p->threads[i]) != 0) return KILN_ERROR_MEMORY;
                p->started = i + 1;
            }
            return KILN_OK;
        }

        /* OpenBLAS, when the program links it (the kernels call cblas_sgemm): the same kernel family
         * and thread count as Kiln (BLAS.selectedCoreType, BLAS.warmUp). Debian's OpenBLAS 0.3.21
         * falls back to its generic SSE3 kernels ("Prescott") on CPUs newer than it knows; a
         * DYNAMIC_ARCH build re-selects its kernels when OPENBLAS_CORETYPE is set and its table is
         * re-initialised. Weak references: without OpenBLAS linked, nothing happens. */
        extern char *openblas_get_corename(void) __attribute__((weak));
        extern void openblas_set_num_threads(int) __attribute__((weak));
        extern void gotoblas_dynamic_quit(void) __attribute__((weak));
        extern void gotoblas_dynamic_init(void) __attribute__((weak));
        static pthread_once_t kb_blas_once = PTHREAD_ONCE_INIT;

        static void kb_blas_select(void) {
            if (openblas_set_num_threads) openblas_set_num_threads(kb_threads());
            if (!openblas_get_corename || !gotoblas_dynamic_quit || !gotoblas_dynamic_init || getenv("OPENBLAS_CORETYPE")) return;
            const char *core = openblas_get_corename();
            if (!core || strcmp(core, "Prescott") != 0) return;
            const char *better = NULL;
        #if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
            __builtin_cpu_init();
            if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) better = "SkylakeX";
            else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) better = "Haswell";
        #endif
            if (!better) return;
            setenv("OPENBLAS_CORETYPE", better, 1);
            gotoblas_dynamic_quit();
            gotoblas_dynamic_init();
            openblas_set_num_threads(kb_threads());
        }

        static void *kb_alloc(size_t bytes) {
            void *p = NULL;
            if (bytes == 0) bytes = 64;
            if (posix_memalign(&p, 64, (bytes + 63) / 64 * 64) != 0) return NULL;
            memset(p, 0, bytes);
            return p;
        }

        static size_t kb_slot_bytes(const struct kb_slot *s) {
            switch (s->kind) {
            case 0: return kb_inputs[s->value].bytes;
            case 1: return kb_params[s->value].bytes;
            default: return (size_t)s->value;
            }
        }

        """#

    /// Creating and freeing an instance, and the API the header declares.
    static let api = #"""
        void KB_NAME_free(struct KB_NAME *m) {
            if (!m) return;
            kb_pool_stop(&m->pool);
            for (int s = 0; s < KB_SLOTS; s++) free(m->owned[s]);
            free(m->arena);
            pthread_mutex_destroy(&m->fail_lock);
            free(m);
        }

        int KB_NAME_create(struct KB_NAME **out, const char *weights_path) {
            kb_create_error[0] = 0;
            pthread_once(&kb_blas_once, kb_blas_select);
            if (!out) { snprintf(kb_create_error, sizeof kb_create_error, "KB_NAME_create: out is NULL"); return KILN_ERROR_ARGUMENT; }
            *out = NULL;
            struct KB_NAME *m = calloc(1, sizeof *m);
            if (!m) { snprintf(kb_create_error, sizeof kb_create_error, "out of memory"); return KILN_ERROR_MEMORY; }
            pthread_mutex_init(&m->fail_lock, NULL);
            int rc = KILN_ERROR_MEMORY;
            m->arena = kb_alloc(KB_ARENA);
            if (!m->arena) goto fail;
            for (int s = 0; s < KB_SLOTS; s++) {
                if (kb_slots[s].kind == 2) { m->table[s] = (char *)m->arena + kb_slots[s].value; continue; }
                m->owned[s] = kb_alloc(kb_slot_bytes(&kb_slots[s]));
                if (!m->owned[s]) goto fail;
                m->table[s] = m->owned[s];
            }
            if (weights_path) {
                rc = kb_load_weights(m, weights_path, kb_create_error, sizeof kb_create_error);
                if (rc != KILN_OK) goto fail;
            } else {
        #if KB_EMBEDDED
                for (int i = 0; i < KB_COUNT_PARAMS; i++) memcpy(m->table[kb_params_slots[i]], KB_NAME_weights + kb_weight_offsets[i], kb_params[i].bytes);
        #else
                rc = KILN_ERROR_WEIGHTS;
                snprintf(kb_create_error, sizeof kb_create_error, "bundle KB_NAME keeps its weights in KB_NAME.safetensors: pass its path to KB_NAME_create");
                goto fail;
        #endif
            }
            for (int i = 0; i < KB_DEFAULTS; i++) memcpy(m->table[kb_inputs_slots[kb_defaults[i].input]], &kb_defaults[i].value, sizeof(float));
            rc = kb_pool_start(&m->pool);
            if (rc != KILN_OK) goto fail;
            *out = m;
            return KILN_OK;
        fail:
            if (!kb_create_error[0]) snprintf(kb_create_error, sizeof kb_create_error, "out of memory (or no threads) creating KB_NAME");
            KB_NAME_free(m);
            return rc;
        }

        int KB_NAME_count(int kind) {
            return kind == KILN_INPUT ? KB_COUNT_INPUTS : kind == KILN_OUTPUT ? KB_COUNT_OUTPUTS : kind == KILN_PARAM ? KB_COUNT_PARAMS : -1;
        }

        const kiln_tensor_info *KB_NAME_info(int kind, int index) {
            if (index < 0 || index >= KB_NAME_count(kind)) return NULL;
            return kind == KILN_INPUT ? &kb_inputs[index] : kind == KILN_OUTPUT ? &kb_outputs[index] : &kb_params[index];
        }

        int KB_NAME_find(int kind, const char *name) {
            if (!name) return -1;
            for (int i = 0; i < KB_NAME_count(kind); i++) if (strcmp(KB_NAME_info(kind, i)->name, name) == 0) return i;
            return -1;
        }

        static int kb_check(const struct KB_NAME *m, int kind, int index, const void *data, size_t bytes, const char *what) {
            struct KB_NAME *w = (struct KB_NAME *)m;
            if (!m) return KILN_ERROR_ARGUMENT;
            const kiln_tensor_info *t = KB_NAME_info(kind, index);
            if (!t) { snprintf(w->error, sizeof w->error, "%s: no index %d (0..%d)", what, index, KB_NAME_count(kind) - 1); return KILN_ERROR_ARGUMENT; }
            if (!data) { snprintf(w->error, sizeof w->error, "%s '%s': data is NULL", what, t->name); return KILN_ERROR_ARGUMENT; }
            if (bytes != t->bytes) { snprintf(w->error, sizeof w->error, "%s '%s': %zu bytes given, it holds %zu", what, t->name, bytes, t->bytes); return KILN_ERROR_ARGUMENT; }
            return KILN_OK;
        }

        int KB_NAME_set_input(struct KB_NAME *m, int index, const void *data, size_t bytes) {
            int rc = kb_check(m, KILN_INPUT, index, data, bytes, "set_input");
            if (rc == KILN_OK) memcpy(m->table[kb_inputs_slots[index]], data, bytes);
            return rc;
        }

        int KB_NAME_get_output(const struct KB_NAME *m, int index, void *data, size_t bytes) {
            int rc = kb_check(m, KILN_OUTPUT, index, data, bytes, "get_output");
            if (rc == KILN_OK) memcpy(data, m->table[kb_outputs_slots[index]], bytes);
            return rc;
        }

        int KB_NAME_get_param(const struct KB_NAME *m, int index, void *data, size_t bytes) {
            int rc = kb_check(m, KILN_PARAM, index, data, bytes, "get_param");
            if (rc == KILN_OK) memcpy(data, m->table[kb_params_slots[index]], bytes);
            return rc;
        }

        int KB_NAME_set_param(struct KB_NAME *m, int index, const void *data, size_t bytes) {
            int rc = kb_check(m, KILN_PARAM, index, data, bytes, "set_param");
            if (rc == KILN_OK) memcpy(m->table[kb_params_slots[index]], data, bytes);
            return rc;
        }

        static int kb_named(const struct KB_NAME *m, int kind, const char *name, const char *what) {
            int index = KB_NAME_find(kind, name);
            if (index < 0 && m) snprintf(((struct KB_NAME *)m)->error, sizeof m->error, "%s: no tensor named '%s'", what, name ? name : "(null)");
            return index;
        }

        int KB_NAME_set_input_named(struct KB_NAME *m, const char *name, const void *data, size_t bytes) {
            int index = kb_named(m, KILN_INPUT, name, "set_input");
            return index < 0 ? KILN_ERROR_ARGUMENT : KB_NAME_set_input(m, index, data, bytes);
        }

        int KB_NAME_get_output_named(const struct KB_NAME *m, const char *name, void *data, size_t bytes) {
            int index = kb_named(m, KILN_OUTPUT, name, "get_output");
            return index < 0 ? KILN_ERROR_ARGUMENT : KB_NAME_get_output(m, index, data, bytes);
        }

        int64_t KB_NAME_get_step(const struct KB_NAME *m) { return m ? m->step : -1; }

        int KB_NAME_set_step(struct KB_NAME *m, int64_t step) {
            if (!m) return KILN_ERROR_ARGUMENT;
            if (step < 0 || step > ((int64_t)1 << 53)) { snprintf(m->error, sizeof m->error, "set_step: %lld is outside 0..2^53", (long long)step); return KILN_ERROR_ARGUMENT; }
            m->step = step;
            return KILN_OK;
        }

        const char *KB_NAME_error(const struct KB_NAME *m) { return m ? m->error : kb_create_error; }

        /* The failure's message with {0} and {1} replaced by the values the kernel reported. */
        static void kb_describe_failure(struct KB_NAME *m) {
            const char *template = m->fail_id >= 0 && m->fail_id < KB_FAILURES ? kb_failures[m->fail_id] : "kernel failure";
            size_t n = 0;
            for (const char *s = template; *s && n + 1 < sizeof m->error; s++) {
                if (s[0] == '{' && (s[1] == '0' || s[1] == '1') && s[2] == '}') {
                    n += (size_t)snprintf(m->error + n, sizeof m->error - n, "%lld", (long long)(s[1] == '0' ? m->fail_a : m->fail_b));
                    if (n >= sizeof m->error) n = sizeof m->error - 1;
                    s += 2;
                } else {
                    m->error[n++] = *s;
                }
            }
            m->error[n] = 0;
        }

        int KB_NAME_run(struct KB_NAME *m) {
            if (!m) return KILN_ERROR_ARGUMENT;
            atomic_store_explicit(&m->status, 0, memory_order_release);
            m->failed = 0;
            int stopped = KB_NAME_step((float **)m->table, (float **)m->args, m, m->step);
            if (stopped || m->failed) { kb_describe_failure(m); return KILN_ERROR_DATA; }
            for (int u = 0; u < KB_UPDATES; u++) {
                int p = kb_updates[u][0];
                memcpy(m->table[kb_params_slots[p]], m->table[kb_updates[u][1]], kb_params[p].bytes);
            }
            m->step++;
            return KILN_OK;
        }

        """#
}
