/// "Did you mean" hints for misspelt ops, attributes and value names.
public enum Suggestions {
    /// The candidate closest to `word` by edit distance, when it is close enough to be a likely
    /// typo: at most a third of the word's length (at least 1, at most 3) and not the whole word.
    public static func closest(to word: String, among candidates: some Sequence<String>) -> String? {
        let w = Array(word.unicodeScalars)
        let threshold = Swift.max(1, Swift.min(3, w.count / 3))
        var best: (name: String, distance: Int)?
        for candidate in candidates where candidate != word {
            let c = Array(candidate.unicodeScalars)
            // Lengths alone bound the distance from below; skips most candidates cheaply.
            guard Swift.abs(c.count - w.count) <= threshold else { continue }
            let d = editDistance(w, c)
            guard d <= threshold, d < w.count else { continue }
            if best == nil || d < (best?.distance ?? .max) || (d == best?.distance && candidate < (best?.name ?? "")) {
                best = (candidate, d)
            }
        }
        return best?.name
    }

    /// ` (did you mean 'NAME'?)` or the empty string, to append to a message.
    public static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        closest(to: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// Edit distance counting insertions, deletions, substitutions and swaps of adjacent
    /// characters (the optimal-string-alignment distance): `rleu` is one typo from `relu`.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var beforePrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = Swift.min(substitution, previous[j] + 1, current[j - 1] + 1)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = Swift.min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[b.count]
    }
}
