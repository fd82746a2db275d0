import KilnIR

/// The interpreter's loop for a choice on a comparison, `test(l, r) ? a : b`, the shape of
/// relu, the comparison flags, sign, leaky_relu, elu, dropout and bernoulli: one loop instead
/// of a comparison chunk and a choice, and a constant operand (the 0 of relu) read as one
/// value rather than from its chunk, so these ops run as the single select they are. Plain data
/// (a `LaneStep`), run by a switch once per chunk: no closure, no reference count.
struct ElementwiseChoice {
    let comparison: ScalarComparison
    let isFloat: Bool
    /// The slot written, and the slots of l, r, a and b.
    let o: Int, l: Int, r: Int, a: Int, b: Int
    /// The 32-bit patterns of r, a and b where they are constants (read as one value).
    let constantR: UInt32?, constantA: UInt32?, constantB: UInt32?

    /// The loop for slots `s` = (l, r, a, b), `constants` holding the 32-bit pattern of those that are constants.
    static func step(_ c: ScalarComparison, isFloat: Bool, into o: Int, from s: [Int], constants k: [UInt32?]) -> LaneStep {
        .select(ElementwiseChoice(comparison: c, isFloat: isFloat, o: o, l: s[0], r: s[1], a: s[2], b: s[3],
                                  constantR: k[1], constantA: k[2], constantB: k[3]))
    }

    /// Runs the choice over the chunk's `n` elements. The comparison, the element type and which
    /// operands are constants are decided here, once per chunk, each combination one loop.
    func run(_ p: LaneSlots, _ n: Int) {
        isFloat ? comparator(p, n, Float.self) : comparator(p, n, Int32.self)
    }

    private func comparator<T: Comparable & BitPattern32>(_ p: LaneSlots, _ n: Int, _: T.Type) {
        switch comparison {
        case .eq: operands(p, n, T.self, Equal.self)
        case .ne: operands(p, n, T.self, NotEqual.self)
        case .lt: operands(p, n, T.self, Less.self)
        case .le: operands(p, n, T.self, LessEqual.self)
        case .gt: operands(p, n, T.self, Greater.self)
        case .ge: operands(p, n, T.self, GreaterEqual.self)
        }
    }

    private func operands<T: Comparable & BitPattern32, C: Comparator>(_ p: LaneSlots, _ n: Int, _: T.Type, _: C.Type) {
        func chunk<E>(_ slot: Int, _: E.Type) -> Chunk<E> { Chunk(p: p[slot].assumingMemoryBound(to: E.self)) }
        let out = p[o].assumingMemoryBound(to: UInt32.self), left = chunk(l, T.self)
        switch (constantR.map(T.init(bits:)), constantA, constantB) {
        case (nil, nil, nil): Self.run(out, left, chunk(r, T.self), chunk(a, UInt32.self), chunk(b, UInt32.self), n, C.self)
        case (nil, nil, let y?): Self.run(out, left, chunk(r, T.self), chunk(a, UInt32.self), Splat(v: y), n, C.self)
        case (nil, let x?, nil): Self.run(out, left, chunk(r, T.self), Splat(v: x), chunk(b, UInt32.self), n, C.self)
        case (nil, let x?, let y?): Self.run(out, left, chunk(r, T.self), Splat(v: x), Splat(v: y), n, C.self)
        case (let v?, nil, nil): Self.run(out, left, Splat(v: v), chunk(a, UInt32.self), chunk(b, UInt32.self), n, C.self)
        case (let v?, nil, let y?): Self.run(out, left, Splat(v: v), chunk(a, UInt32.self), Splat(v: y), n, C.self)
        case (let v?, let x?, nil): Self.run(out, left, Splat(v: v), Splat(v: x), chunk(b, UInt32.self), n, C.self)
        case (let v?, let x?, let y?): Self.run(out, left, Splat(v: v), Splat(v: x), Splat(v: y), n, C.self)
        }
    }

    @inline(__always)
    private static func run<L: Input, R: Input, A: Input, B: Input, C: Comparator>(
        _ po: UnsafeMutablePointer<UInt32>, _ l: L, _ r: R, _ a: A, _ b: B, _ n: Int, _: C.Type
    ) where L.Element: Comparable, R.Element == L.Element, A.Element == UInt32, B.Element == UInt32 {
        // Both values read before the choice: a select the optimiser vectorises, not a branch.
        for i in 0..<n {
            let x = a[i], y = b[i]
            po[i] = C.test(l[i], r[i]) ? x : y
        }
    }
}

/// Where a choice reads an operand: its chunk, or the one value of a constant.
private protocol Input {
    associatedtype Element
    subscript(_ i: Int) -> Element { get }
}

private struct Chunk<Element>: Input {
    let p: UnsafeMutablePointer<Element>
    @inline(__always) subscript(_ i: Int) -> Element { p[i] }
}

private struct Splat<Element>: Input {
    let v: Element
    @inline(__always) subscript(_ i: Int) -> Element { v }
}

/// f32 and i32 from the 32-bit pattern a constant lane is stored as.
protocol BitPattern32 { init(bits: UInt32) }
extension Float: BitPattern32 { init(bits: UInt32) { self.init(bitPattern: bits) } }
extension Int32: BitPattern32 { init(bits: UInt32) { self.init(bitPattern: bits) } }

private protocol Comparator { static func test<T: Comparable>(_ a: T, _ b: T) -> Bool }
private enum Equal: Comparator { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b } }
private enum NotEqual: Comparator { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a != b } }
private enum Less: Comparator { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b } }
private enum LessEqual: Comparator { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b } }
private enum Greater: Comparator { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b } }
private enum GreaterEqual: Comparator { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b } }
