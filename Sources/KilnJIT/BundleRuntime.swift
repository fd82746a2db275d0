/// The C file a bundle ships, `NAME_runtime.c`, compiled by the program's own C compiler: the
/// bundle's tables (slots, tensors, weights offsets, updates, failure messages) generated from
/// its `BundleLayout`, then the runtime (`BundleRuntimeSource`) — what the JIT does in Swift
/// (`JITBackend`, `KernelPool`, `RuntimeEntryPoints`) in C11 with pthreads.
enum BundleRuntime {
    static func text(_ layout: BundleLayout) -> String {
        var c = "/* \(layout.name)_runtime.c: the runtime of bundle \(layout.name) (kiln compile). Compile with any C11 compiler:\n"
            + " * cc -O2 -c \(layout.name)_runtime.c; link with lib\(layout.name).a, -lm and -lpthread (and -lopenblas if the kernels call cblas_sgemm). */\n"
        c += "#define _GNU_SOURCE\n#include \"\(layout.name).h\"\n"
        c += BundleRuntimeSource.prelude
        c += "\n/* The bundle's tables. */\n"
        c += "#define KB_SLOTS \(layout.slots.count)\n#define KB_ARGS \(Swift.max(layout.argumentCount, 1))\n"
        c += "#define KB_ARENA \(layout.arenaBytes)\n#define KB_UPDATES \(layout.updates.count)\n"
        c += "#define KB_FAILURES \(layout.failures.count)\n#define KB_DEFAULTS \(layout.defaults.count)\n"
        c += "#define KB_EMBEDDED \(layout.embedWeights ? 1 : 0)\n"
        c += "#define KB_COUNT_INPUTS \(layout.inputs.count)\n#define KB_COUNT_OUTPUTS \(layout.outputs.count)\n#define KB_COUNT_PARAMS \(layout.params.count)\n"
        if layout.embedWeights { c += "extern const unsigned char \(layout.name)_weights[];\n" }
        let slots = layout.slots.map { slot -> String in
            switch slot {
            case .input(let i): return "{0, \(i)}"
            case .param(let i): return "{1, \(i)}"
            case .arena(let offset): return "{2, \(offset)}"
            case .owned(let bytes): return "{3, \(bytes)}"
            case .scratch(let bytes): return "{4, \(bytes)}"
            }
        }
        c += "static const struct kb_slot kb_slots[] = {" + list(slots.isEmpty ? ["{3, 4}"] : slots, perLine: 8) + "};\n"
        var dims: [Int] = []
        func tensors(_ label: String, _ all: [BundleLayout.Tensor]) {
            var entries: [String] = [], slotList: [String] = []
            for t in all {
                entries.append("{\(quoted(t.name)), \(t.dtype), \(t.dims.count), kb_dims + \(dims.count), \(t.bytes)}")
                slotList.append(String(t.slot))
                dims += t.dims
            }
            c += "static const kiln_tensor_info kb_\(label)[] = {" + list(entries.isEmpty ? ["{\"\", 0, 0, kb_dims, 0}"] : entries, perLine: 1) + "};\n"
            c += "static const int kb_\(label)_slots[] = {" + list(slotList.isEmpty ? ["0"] : slotList, perLine: 16) + "};\n"
        }
        var body = ""
        swap(&c, &body)
        tensors("inputs", layout.inputs)
        tensors("outputs", layout.outputs)
        tensors("params", layout.params)
        swap(&c, &body)
        c += "static const int64_t kb_dims[] = {" + list((dims.isEmpty ? [0] : dims).map(String.init), perLine: 16) + "};\n" + body
        if layout.embedWeights {
            c += "static const size_t kb_weight_offsets[] = {" + list((layout.weightOffsets.isEmpty ? [0] : layout.weightOffsets).map(String.init), perLine: 12) + "};\n"
        }
        let updates = layout.updates.map { "{\($0.param), \($0.slot)}" }
        c += "static const int kb_updates[][2] = {" + list(updates.isEmpty ? ["{0, 0}"] : updates, perLine: 8) + "};\n"
        c += "static const char *const kb_failures[] = {" + list(layout.failures.isEmpty ? ["\"\""] : layout.failures.map(quoted), perLine: 1) + "};\n"
        let defaults = layout.defaults.map { "{\($0.input), \(floatLiteral($0.value))}" }
        c += "static const struct kb_default kb_defaults[] = {" + list(defaults.isEmpty ? ["{0, 0.0f}"] : defaults, perLine: 4) + "};\n"
        c += BundleRuntimeSource.body + BundleRuntimeSource.weightsReader + BundleRuntimeSource.api
        return c.replacingOccurrences(of: "KB_NAME", with: layout.name)
    }

    private static func list(_ items: [String], perLine: Int) -> String {
        stride(from: 0, to: items.count, by: perLine).map { start in
            "\n    " + items[start..<Swift.min(start + perLine, items.count)].joined(separator: ", ")
        }.joined(separator: ",") + "\n"
    }

    /// A C string literal: printable ASCII kept, everything else as octal escapes.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20..<0x7F where byte != UInt8(ascii: "?"): out += String(UnicodeScalar(byte))
            default: out += "\\" + String(byte, radix: 8).leftPadded(to: 3)
            }
        }
        return out + "\""
    }

    /// `value` as a C float literal that reads back exactly (Swift prints the shortest decimal
    /// that rounds to it; C's strtof rounds correctly).
    static func floatLiteral(_ value: Float) -> String {
        guard value.isFinite else { return value.isNaN ? "(0.0f/0.0f)" : (value < 0 ? "(-1.0f/0.0f)" : "(1.0f/0.0f)") }
        return "\(value)f"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
