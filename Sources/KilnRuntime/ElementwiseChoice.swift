import KilnIR

/// The interpreter's loop for a choice on a comparison, `test(l, r) ? a : b`, the shape of
/// relu, the comparison flags, sign, leaky_relu, elu, dropout and bernoulli: one loop instead
/// of a comparison chunk and a choice, and a constant operand (the 0 of relu) read as one
/// value rather than from its chunk, so these ops run as the single select they are.
enum ElementwiseChoice {
    /// The loop for slots (l, r, a, b), `constants` holding the 32-bit pattern of those that are constants.
    static func step(_ c: ScalarComparison, isFloat: Bool, into o: Int, from s: [Int], constants k: [UInt32?]) -> LaneStep {
        isFloat ? comparator(c, o, s, k, Float.self) : comparator(c, o, s, k, Int32.self)
    }

    private static func comparator<T: Comparable & BitPattern32>(_ c: ScalarComparison, _ o: Int, _ s: [Int], _ k: [UInt32?], _: T.Type) -> LaneStep {
        switch c {
        case .eq: return operands(o, s, k, T.self, Equal.self)
        case .ne: return operands(o, s, k, T.self, NotEqual.self)
        case .lt: return operands(o, s, k, T.self, Less.self)
        case .le: return operands(o, s, k, T.self, LessEqual.self)
        case .gt: return operands(o, s, k, T.self, Greater.self)
        case .ge: return operands(o, s, k, T.self, GreaterEqual.self)
        }
    }

    private static func operands<T: Comparable & BitPattern32, C: Comparator>(_ o: Int, _ s: [Int], _ k: [UInt32?], _: T.Type, _: C.Type) -> LaneStep {
        let (l, r, a, b) = (s[0], s[1], s[2], s[3])
        func chunk<E>(_ p: LaneSlots, _ slot: Int, _: E.Type) -> Chunk<E> { Chunk(p: p[slot].assumingMemoryBound(to: E.self)) }
        func out(_ p: LaneSlots) -> UnsafeMutablePointer<UInt32> { p[o].assumingMemoryBound(to: UInt32.self) }
        switch (k[1].map(T.init(bits:)), k[2], k[3]) {
        case (nil, nil, nil):
            return { p, _, n, _ in run(out(p), chunk(p, l, T.self), chunk(p, r, T.self), chunk(p, a, UInt32.self), chunk(p, b, UInt32.self), n, C.self) }
        case (nil, nil, let y?):
            return { p, _, n, _ in run(out(p), chunk(p, l, T.self), chunk(p, r, T.self), chunk(p, a, UInt32.self), Splat(v: y), n, C.self) }
        case (nil, let x?, nil):
            return { p, _, n, _ in run(out(p), chunk(p, l, T.self), chunk(p, r, T.self), Splat(v: x), chunk(p, b, UInt32.self), n, C.self) }
        case (nil, let x?, let y?):
            return { p, _, n, _ in run(out(p), chunk(p, l, T.self), chunk(p, r, T.self), Splat(v: x), Splat(v: y), n, C.self) }
        case (let v?, nil, nil):
            return { p, _, n, _ in run(out(p), chunk(p, l, T.self), Splat(v: v), chunk(p, a, UInt32.self), chunk(p, b, UInt32.self), n, C.self) }
        case (let v?, nil, let y?):
            return { p, _, n, _ in run(out(p), chunk(p, l, T.self), Splat(v: v), chunk(p, a, UInt32.self), Splat(v: y), n, C.self) }
        case (let v?, let x?, nil):
            return { p, _, n, _ in run(out(p), chunk(p, l, T.self), Splat(v: v), Splat(v: x), chunk(p, b, UInt32.self), n, C.self) }
        case (let v?, let x?, let y?):
            return { p, _, n, _ in run(out(p), chunk(p, l, T.self), Splat(v: v), Splat(v: x), Splat(v: y), n, C.self) }
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
