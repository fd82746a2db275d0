/// Turns ONNX value names (`input.1`, `/conv1/Conv_output_0`, `onnx::Gemm_12`, `0`) into Kiln
/// names, which must read back from `.kiln` text: a letter or `_` first, then letters, digits,
/// `_` and `.`. Each ONNX name maps to one Kiln name, unique in the graph.
struct ValueNames {
    private var assigned: [String: String] = [:]
    private var used: Set<String> = []

    /// The Kiln spelling of `onnxName` (the same one on every call).
    mutating func kilnName(for onnxName: String) -> String {
        if let known = assigned[onnxName] { return known }
        let base = Self.sanitize(onnxName)
        var candidate = base, n = 2
        while used.contains(candidate) { candidate = "\(base)_\(n)"; n += 1 }
        used.insert(candidate)
        assigned[onnxName] = candidate
        return candidate
    }

    /// Reserves a name the importer makes up itself (a helper value), unique like the rest.
    mutating func fresh(_ base: String) -> String {
        var candidate = Self.sanitize(base), n = 2
        let stem = candidate
        while used.contains(candidate) { candidate = "\(stem)_\(n)"; n += 1 }
        used.insert(candidate)
        return candidate
    }

    static func sanitize(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            let c = Character(scalar)
            if c.isLetter || c.isNumber && scalar.isASCII || c == "_" || c == "." { out.append(c) } else { out.append("_") }
        }
        // Trim the separators exporters put first (`/conv1/...`, `::`).
        while out.first == "_" && out.count > 1 && name.first != "_" { out.removeFirst() }
        if out.isEmpty { return "v" }
        if let first = out.first, !(first.isLetter || first == "_") { out = "v" + out }
        return out
    }
}
