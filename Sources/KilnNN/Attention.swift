import KilnIR

/// Multi-head scaled dot-product attention over [batch, tokens, width] sequences:
/// Q, K, V projections, `heads` heads split by reshape/transpose, `softmax(Q·Kᵀ/√d)·V` per
/// head (optionally causal: token i sees tokens j ≤ i), heads merged and an output projection.
///
/// ```swift
/// let attention = MultiHeadAttention(heads: 4)
/// let y = attention(x)                            // self-attention
/// let z = attention(x, attendingTo: memory)       // cross-attention, same weights
/// ```
///
/// Params (all [width, width] / [width]): `attention1.query.weight`, `.query.bias`, `.key.…`,
/// `.value.…`, `.output.…`; `names` maps a role (`"query.weight"`) to a full name instead.
public final class MultiHeadAttention: Layer {
    /// The number of heads; the width must be a multiple of it.
    public let heads: Int
    /// Whether token i attends only to tokens j ≤ i.
    public let causal: Bool
    /// Whether the projections add biases.
    public let useBias: Bool
    private let names: [String: String]
    private var binding: LayerBinding
    /// The projections' weights and biases by role (`query.weight`, …), once applied.
    public private(set) var params: [String: Value] = [:]
    /// The attention weights [batch·heads, tokens, context tokens] of the latest call (to
    /// name or output them).
    public private(set) var attentionWeights: Value?
    private var mask: (tokens: Int, context: Int, value: Value)?

    static let roles = ["query", "key", "value", "output"]

    /// An attention layer with `heads` heads; `name` replaces the automatic prefix (`attention1`).
    public init(heads: Int, causal: Bool = false, useBias: Bool = true, name: String? = nil,
                names: [String: String] = [:], file: String = #fileID, line: Int = #line) {
        self.heads = heads
        self.causal = causal
        self.useBias = useBias
        self.names = names
        binding = LayerBinding(kind: "attention", name: name, declared: CallSite(file: file, line: line))
    }

    /// The layer's name prefix, once it has been applied.
    public var name: String? { binding.name }

    /// Self-attention: queries, keys and values all come from `x`.
    public func forward(_ x: Value, at site: CallSite) -> Value { attend(x, to: x, at: site) }

    /// Cross-attention: queries from `x`, keys and values from `context` ([batch, tokens', width]).
    public func callAsFunction(_ x: Value, attendingTo context: Value, name: String? = nil,
                               file: String = #fileID, line: Int = #line) -> Value {
        let y = attend(x, to: context, at: CallSite(file: file, line: line))
        return name.map { y.named($0, file: file, line: line) } ?? y
    }

    private func attend(_ x: Value, to context: Value, at site: CallSite) -> Value {
        let m = x.model
        guard let q = binding.prepare(x, rank: 3, exactly: true, for: "MultiHeadAttention", at: site),
              let c = binding.prepare(context, rank: 3, exactly: true, for: "MultiHeadAttention", at: site) else { return m.poisoned }
        let (batch, tokens, width, others) = (q[0], q[1], q[2], c[1])
        guard heads > 0, width % heads == 0 else {
            return m.fail("MultiHeadAttention: width \(width) is not a multiple of \(heads) heads", file: site.file, line: site.line)
        }
        guard c[0] == batch, c[2] == width else {
            return m.fail("MultiHeadAttention: context \(c) does not match queries \(q) in batch and width", file: site.file, line: site.line)
        }
        if let unknown = names.keys.sorted().first(where: { key in !Self.roles.contains { key == "\($0).weight" || key == "\($0).bias" } }) {
            return m.fail("MultiHeadAttention: no param role '\(unknown)' (roles: query, key, value, output + .weight/.bias)", file: site.file, line: site.line)
        }
        return binding.within {
            if params.isEmpty { declareParams(width: width) }
            let (file, line) = (site.file, site.line), headWidth = width / heads
            func project(_ v: Value, _ role: String) -> Value {
                guard let w = params["\(role).weight"] else { return m.poisoned }
                let y = v.matmul(w, file: file, line: line)
                return params["\(role).bias"].map { add(y, $0, file: file, line: line) } ?? y
            }
            func split(_ v: Value, _ n: Int) -> Value {
                v.reshape([batch, n, heads, headWidth], file: file, line: line).transpose([0, 2, 1, 3], file: file, line: line)
                    .reshape([batch * heads, n, headWidth], file: file, line: line)
            }
            let qh = split(project(x, "query"), tokens), kh = split(project(context, "key"), others)
            let vh = split(project(context, "value"), others)
            var scores = mul(qh.matmul(kh, transposeB: true, file: file, line: line),
                             m.constant(1 / Float(headWidth).squareRoot(), file: file, line: line), file: file, line: line)
            if causal, others > 1 { scores = add(scores, causalMask(tokens, others, m, site), file: file, line: line) }
            let weights = scores.softmax(axis: 2, file: file, line: line)
            attentionWeights = weights
            let merged = weights.matmul(vh, file: file, line: line).reshape([batch, heads, tokens, headWidth], file: file, line: line)
                .transpose([0, 2, 1, 3], file: file, line: line).reshape([batch, tokens, width], file: file, line: line)
            return project(merged, "output")
        }
    }

    private func declareParams(width: Int) {
        for role in Self.roles {
            params["\(role).weight"] = binding.param("\(role).weight", explicit: names["\(role).weight"], [width, width], .glorotUniform)
            if useBias { params["\(role).bias"] = binding.param("\(role).bias", explicit: names["\(role).bias"], [width], .zeros) }
        }
    }

    /// −1e9 where j > i, 0 elsewhere, [tokens, others]. Built from slices of one padded row of
    /// ones (the IR has no iota yet), once per shape; the row v has v[k] = 1 iff k ≥ others,
    /// so row i of the mask is v[others − 1 − i ..< 2·others − 1 − i].
    private func causalMask(_ tokens: Int, _ others: Int, _ m: ModelBuilder, _ site: CallSite) -> Value {
        if let mask, mask.tokens == tokens, mask.context == others { return mask.value }
        let (file, line) = (site.file, site.line)
        let ones = m.apply(.constant, [], [("value", .float(1)), ("shape", .ints([1, others - 1]))], file: file, line: line)
        let row = ones.pad(before: [0, others], after: [0, 0], file: file, line: line)
        let rows = (0..<tokens).map { i -> Value in
            let begin = Swift.max(others - 1 - i, 0)
            return row.slice(begin: [0, begin], end: [1, begin + others], file: file, line: line)
        }
        let blocked = tokens == 1 ? rows[0] : concat(rows, axis: 0, file: file, line: line)
        let value = mul(blocked, m.constant(-1e9, file: file, line: line), file: file, line: line)
        mask = (tokens, others, value)
        return value
    }
}
