import KilnIR

/// Groups nodes into `fused` kernels, each printed as a node with a body region:
/// - chains and trees of f32 elementwise ops (broadcasts included) over one iteration space;
/// - a matmul or conv2d followed by elementwise consumers of its shape (GEMM epilogues:
///   bias add, activation, and in training graphs the optimiser update of a weight gradient);
/// - elementwise producers feeding one reduction, over the reduction's input shape;
/// - a concat and the elementwise producers of its operands, each over its operand's shape,
///   storing straight into its block of the result.
/// A value read outside its kernel too may still join it (multi-output fusion, `joinableGroup`).
/// Rules (Docs/PASSES.md): every node lands in at most one kernel, so no work is duplicated;
/// a value also needed as an output or state update becomes an extra result; a kernel never
/// depends on its own result through an outside node (the consumer rule rules it out); scalar
/// (rank-0) arithmetic, random ops and casts stay unfused. Refusals are kept as remarks.
/// Linear in the graph apart from dictionary work (compile-time curve in Docs/BENCHMARKS.md).
public struct Fusion: RemarkingPass {
    public let name = "fuse"
    /// The most ops one kernel computes: a 20,000-op elementwise chain becomes ~300 kernels of
    /// equal shape (which the JIT compiles once each) instead of one loop body LLVM takes
    /// minutes to optimise.
    public static let maxKernelOps = 64
    public init() {}

    public func run(_ graph: Graph) throws -> Graph { try fuse(graph).graph }
    public func runWithRemarks(_ graph: Graph) throws -> (graph: Graph, remarks: [String]) { try fuse(graph) }

    private struct Group {
        var members: [Int]
        /// The shape every elementwise member computes over (a reduction's input shape).
        var shape: Shape
        var hasContraction: Bool
        /// The kernel ends in a reduction: its producers are computed inside the reduction's loops.
        var hasReduction = false
        /// A member adds a product only it reads (see `claimedProduct`).
        var claimsProduct = false
        /// The kernel ends in a `concat`: the shapes of its operands, and which of them each
        /// other member computes (a piece's producers run over that operand's shape).
        var pieces: [Shape]? = nil
        var pieceOf: [Int: Int] = [:]
        /// Where each value is an operand of the concat (a value read twice is in two pieces).
        var positions: [String: [Int]] = [:]
    }

    /// The fused graph, plus one remark per refused fusion candidate.
    ///
    /// Consumer-driven, like XLA's instruction fusion: walking backwards, a node joins the
    /// kernel of its consumers when all of them are in that one kernel, so fusing never forces
    /// a value to be both kept in a kernel and materialised for another consumer. A value also
    /// needed as an output or a state update becomes an extra result of the kernel.
    public func fuse(_ input: Graph) throws -> (graph: Graph, remarks: [String]) {
        let graph = try input.nodes.contains { $0.type == nil } ? inferTypes(input) : input
        let nodes = graph.nodes
        let types = graph.valueTypes
        var producer: [String: Int] = [:]
        for (i, node) in nodes.enumerated() { for name in node.resultNames { producer[name] = i } }
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (i, node) in nodes.enumerated() {
            for operand in Set(node.operands) { if let p = producer[operand] { consumers[p].append(i) } }
        }

        var groupOf = [Int?](repeating: nil, count: nodes.count)
        var groups: [Group] = []
        var remarks: [String] = []

        for i in nodes.indices.reversed() {
            let node = nodes[i]
            guard let type = node.type else { continue }
            let isContraction = node.op.fusionRole == .contraction
            if isFusibleReduction(node), let operand = node.operands.first, let inputType = types[operand] {
                groupOf[i] = groups.count
                groups.append(Group(members: [i], shape: inputType.shape, hasContraction: false, hasReduction: true))
                continue
            }
            if let pieces = concatPieces(node, types: types) {
                groupOf[i] = groups.count
                var positions: [String: [Int]] = [:]
                for (k, operand) in node.operands.enumerated() { positions[operand, default: []].append(k) }
                groups.append(Group(members: [i], shape: type.shape, hasContraction: false, pieces: pieces, positions: positions))
                continue
            }
            guard isContraction || isFusibleElementwise(node, types: types) else { continue }

            if let g = joinableGroup(i, consumers: consumers[i], groupOf: groupOf, groups: groups) {
                let piece = groups[g].pieces == nil ? nil : concatPiece(i, consumers: consumers[i], nodes: nodes, group: groups[g])
                let refusal = self.refusal(i, joining: groups[g], piece: piece, nodes: nodes, consumers: consumers, producer: producer)
                // No cycle check is needed: every member of `g` comes after `i` and every consumer of
                // `i` is in `g` (or, by `joinableGroup`, after all of `g`), so a path from `i` that
                // leaves the kernel and re-enters it would already leave and re-enter `g`, which no
                // earlier step allowed (by induction from one-node groups). The old per-candidate search (a DFS per kernel operand, O(n³) on
                // gradient graphs) never refused anything; the scheduler in `assemble` still fails
                // loudly if a kernel ever needed its own result.
                if let refusal {
                    remarks.append("'\(node.name)' not fused into the kernel of '\(nodes[groups[g].members.first ?? i].name)': \(refusal)")
                } else {
                    // Members arrive in decreasing index order: appended here, reversed once below.
                    groups[g].members.append(i)
                    groups[g].hasContraction = groups[g].hasContraction || isContraction
                    groups[g].claimsProduct = groups[g].claimsProduct || claimedProduct(i, nodes: nodes, producer: producer, consumers: consumers) != nil
                    if let piece { groups[g].pieceOf[i] = piece }
                    groupOf[i] = g
                    continue
                }
            }
            groupOf[i] = groups.count
            groups.append(Group(members: [i], shape: type.shape, hasContraction: isContraction,
                                claimsProduct: claimedProduct(i, nodes: nodes, producer: producer, consumers: consumers) != nil))
        }

        let kernels = groups.filter { $0.members.count > 1 }.map { Array($0.members.reversed()) }
        return (try assemble(graph, groups: kernels, producer: producer), remarks)
    }

    /// Why node `i` may not join kernel `group` (whose members hold all the consumers it has
    /// there), or nil; `piece` is the concat operand it computes, for a concat's kernel.
    private func refusal(_ i: Int, joining group: Group, piece: Int?, nodes: [Node], consumers: [[Int]], producer: [String: Int]) -> String? {
        let node = nodes[i]
        let shape = node.type?.shape ?? .scalar
        let isContraction = node.op.fusionRole == .contraction
        if let pieces = group.pieces {
            // A concat's kernel: a producer of exactly one of its operands, of that operand's shape.
            guard !isContraction, let piece else { return "it does not compute exactly one operand of the kernel's concat" }
            if pieces[piece] != shape { return "its shape \(shape) differs from that of the concat's operand \(pieces[piece])" }
        } else if group.shape != shape {
            return "its shape \(shape) differs from the kernel's iteration space \(group.shape)"
        }
        if group.members.count >= Self.maxKernelOps {
            return "the kernel already computes \(Self.maxKernelOps) ops (bigger loop bodies compile slowly and gain nothing)"
        }
        if isContraction && group.hasContraction { return "the kernel already holds a contraction" }
        if let reader = consumers[i].first(where: { [.contraction, .indexMap].contains(nodes[$0].op.fusionRole) }) {
            // Both read their operand at other positions than the one being computed.
            return "it feeds '\(nodes[reader].name)' (\(nodes[reader].op.name)), which reads whole operands from memory"
        }
        if isContraction && group.hasReduction {
            return "a contraction cannot feed a fused reduction (its product would have to be stored first)"
        }
        if claimedProduct(i, nodes: nodes, producer: producer, consumers: consumers) != nil && (group.claimsProduct || group.hasContraction) {
            // A sum of products (a weight's gradient over an RNN's steps): each add becomes its
            // own product's epilogue, so the running sum is added in the product's tiles and
            // stays in cache — not every product stored and all of them read back by one kernel
            // (measured: one product of all 28 steps' operands is slower than the 28 epilogues).
            return "it adds its own product, and the kernel already holds one"
        }
        return nil
    }

    /// The kernel node `i` may join: the one holding every consumer of `i` (consumer-driven
    /// fusion); or else — multi-output fusion, as XLA's producer-consumer multi-output fusion —
    /// an elementwise kernel holding some consumers of `i` when every other consumer comes
    /// after all of that kernel's members. `i` then becomes an extra result of the kernel
    /// (it was stored anyway, for its outside consumers), and no outside consumer can feed the
    /// kernel: in a topological order, a node only feeds later ones. An LSTM cell's gates,
    /// cell state and output (each also read by the backward pass and the next step) become
    /// one kernel instead of seven. Kernels ending in a contraction's tiles or a reduction's
    /// loops take only nodes all of whose consumers they hold.
    private func joinableGroup(_ i: Int, consumers: [Int], groupOf: [Int?], groups: [Group]) -> Int? {
        let consumerGroups = Set(consumers.map { groupOf[$0] })
        if consumerGroups.count == 1, let only = consumerGroups.first, let g = only { return g }
        // The earliest-ending elementwise kernel among the consumers' is the only one the others can all follow.
        let candidates = consumerGroups.compactMap { $0 }.filter { !groups[$0].hasContraction && !groups[$0].hasReduction && groups[$0].pieces == nil }
        guard let g = candidates.min(by: { (groups[$0].members.first ?? 0) < (groups[$1].members.first ?? 0) }),
              let last = groups[g].members.first else { return nil }
        return consumers.allSatisfy { groupOf[$0] == g || $0 > last } ? g : nil
    }

    /// The product (matmul or convolution) that elementwise `add` node `i` adds, when `i` is
    /// its only reader and it has `i`'s shape: the add is that product's natural epilogue.
    private func claimedProduct(_ i: Int, nodes: [Node], producer: [String: Int], consumers: [[Int]]) -> Int? {
        let node = nodes[i]
        guard node.op == .add else { return nil }
        return node.operands.compactMap { producer[$0] }.first { p in
            nodes[p].op.fusionRole == .contraction && consumers[p] == [i] && nodes[p].type?.shape == node.type?.shape
        }
    }

    /// The operand shapes of an f32 `concat`, which starts a kernel its operands' elementwise
    /// producers join (each computed over its operand's shape and stored straight into its
    /// block of the result: an LSTM's four gate gradients, never stored apart and copied).
    private func concatPieces(_ node: Node, types: [String: TensorType]) -> [Shape]? {
        guard node.op == .concat, node.type?.dtype == .f32 else { return nil }
        let shapes = node.operands.compactMap { types[$0]?.shape }
        return shapes.count == node.operands.count ? shapes : nil
    }

    /// Which operand of the concat kernel `group` node `i` computes: its consumers are all in
    /// one piece (or are the concat, reading `i` as exactly one of its operands); nil otherwise.
    private func concatPiece(_ i: Int, consumers: [Int], nodes: [Node], group: Group) -> Int? {
        guard let concat = group.members.first else { return nil }
        var piece: Int?
        for c in consumers {
            let p: Int
            if c == concat {
                guard let positions = group.positions[nodes[i].name], positions.count == 1 else { return nil }
                p = positions[0]
            } else {
                guard let q = group.pieceOf[c] else { return nil }
                p = q
            }
            if let piece, piece != p { return nil }
            piece = p
        }
        return piece
    }

    private func isFusibleElementwise(_ node: Node, types: [String: TensorType]) -> Bool {
        guard node.op.fusionRole == .elementwise || node.op.fusionRole == .indexMap, let type = node.type, type.dtype == .f32, type.rank > 0 else { return false }
        return node.operands.allSatisfy { types[$0]?.dtype == .f32 }
    }

    private func isFusibleReduction(_ node: Node) -> Bool {
        node.op.fusionRole == .reduction && node.type?.dtype == .f32
    }
}
