/// One Winograd minimal filtering algorithm F(m, 3) in one dimension (Lavin & Gray, "Fast
/// Algorithms for Convolutional Neural Networks", 2016): m outputs of a 3-tap correlation
/// y[i] = Σⱼ g[j]·d[i + j] from α = m + 2 inputs as y = Aᵀ·((G·g) ⊙ (Bᵀ·d)), α products
/// instead of 3m. `WinogradRows` applies it along a filter's rows.
struct WinogradTransform: Sendable, Equatable {
    /// Outputs per group.
    let m: Int
    /// Bᵀ, α × α: the input transform.
    let inputRows: [[Float]]
    /// G, α × 3: the filter transform.
    let filterRows: [[Float]]
    /// Aᵀ, m × α: the output transform.
    let outputRows: [[Float]]

    /// Inputs (and products) per group.
    var alpha: Int { m + 2 }

    /// F(2, 3), points 0, ±1, ∞: every coefficient is 0, ±1 or ±½, so the transforms are exact
    /// but for the additions.
    static let f2 = WinogradTransform(
        m: 2,
        inputRows: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        filterRows: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
        outputRows: [[1, 1, 1, 0], [0, 1, -1, -1]])

    /// F(4, 3), points 0, ±1, ±2, ∞: 6 products per 4 outputs (half the direct sum's
    /// multiply-adds against F(2, 3)'s two thirds). Its transforms scale by up to 8 (and the
    /// filter transform by ⅙, ¹⁄₁₂, ¹⁄₂₄, which round), so results differ from the direct sum by
    /// more ulps than F(2, 3)'s; in one dimension that stays around 1e-6 relative (the 2-d
    /// F(4×4, 3×3) squares it).
    static let f4 = WinogradTransform(
        m: 4,
        inputRows: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        filterRows: [[0.25, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                     [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        outputRows: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]])

    /// The variants a convolution may take, fewest outputs per group first.
    static let all = [f2, f4]

    /// Σᵢ coefficients[i]·values[i] over the nonzero coefficients and values (a row outside the
    /// image is a literal zero), ±1 as additions and subtractions (no multiply), the rest as one
    /// multiply each.
    static func combination(_ coefficients: [Float], _ values: [Expr]) -> Expr {
        var sum: Expr?
        var negated: [Expr] = []
        for (c, v) in zip(coefficients, values) where c != 0 && v != .f32(0) {
            if c == -1 { negated.append(v); continue }
            let term = c == 1 ? v : Expr.binary(.mul, .f32(c), v)
            sum = sum.map { .binary(.add, $0, term) } ?? term
        }
        for v in negated {
            sum = sum.map { .binary(.sub, $0, v) } ?? .unary(.neg, v)
        }
        return sum ?? .f32(0)
    }
}
