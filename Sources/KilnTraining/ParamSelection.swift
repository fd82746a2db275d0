import KilnIR

/// Chooses params by name or glob (`kiln train --freeze w1,enc_*`): `*` matches any run of
/// characters, `?` any one character, everything else itself.
public enum ParamSelection {
    /// The trainable params of `graph` matched by the comma-separated `patterns`, in
    /// declaration order. A pattern that matches no trainable param is an error naming the
    /// params there are (a typo would otherwise freeze nothing, silently).
    public static func select(_ patterns: String, in graph: Graph) throws -> [String] {
        let names = graph.trainableParams.map(\.name)
        var chosen = Set<String>()
        for pattern in patterns.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !pattern.isEmpty else { throw Diagnostic("empty param pattern in '\(patterns)'") }
            let matched = names.filter { matches($0, pattern) }
            guard !matched.isEmpty else {
                throw Diagnostic("'\(pattern)' matches no trainable param of graph '\(graph.name)' (params: \(names.joined(separator: ", ")))")
            }
            chosen.formUnion(matched)
        }
        return names.filter { chosen.contains($0) }
    }

    /// Glob matching over characters, iterative with one backtracking point per `*`.
    public static func matches(_ name: String, _ pattern: String) -> Bool {
        let n = Array(name), p = Array(pattern)
        var i = 0, j = 0, star = -1, resume = 0
        while i < n.count {
            if j < p.count, p[j] == "?" || p[j] == n[i] {
                i += 1
                j += 1
            } else if j < p.count, p[j] == "*" {
                star = j
                resume = i
                j += 1
            } else if star >= 0 {
                j = star + 1
                resume += 1
                i = resume
            } else {
                return false
            }
        }
        while j < p.count, p[j] == "*" { j += 1 }
        return j == p.count
    }
}
