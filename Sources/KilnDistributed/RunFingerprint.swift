import KilnData
import KilnIR
import KilnRuntime
import KilnTraining

/// What every rank of a data-parallel run must agree on, exchanged before the first collective
/// and at the start of every epoch. Ranks that disagree would otherwise issue collectives of
/// different sizes — one rank all-reducing 3 doubles of evaluation while another all-reduces a
/// 235,147-float gradient bucket corrupts the heap (`free(): invalid next size`), a different
/// epoch count hangs, a different seed or renamed params train silently wrong.
///
/// Every field is a fixed number of doubles (the same layout on every rank, so the exchange
/// itself is always well-formed); strings and 64-bit values are hashed or split into exact
/// 32-bit halves.
public struct RunFingerprint: Equatable, Sendable {
    public struct Field: Equatable, Sendable {
        public var name: String
        public var values: [Double]
        /// Whether `values` is a hash (shown as such, not as numbers).
        public var isHash = false

        public init(name: String, values: [Double], isHash: Bool = false) {
            (self.name, self.values, self.isHash) = (name, values, isHash)
        }
    }

    public var fields: [Field]

    public init(fields: [Field]) { self.fields = fields }

    /// The start-up fingerprint: graph, state names and sizes, batch, steps per epoch, epochs,
    /// optimiser, schedule, seed, data-set sizes and the all-reduce buckets.
    public init(trainer: Trainer, graphs: DataParallelGraphs, options: DistributedFitOptions, train: Dataset, held: Dataset, ranks: Int) {
        let global = trainer.batchSize * ranks
        let steps = train.count < global ? 1 : train.count / global
        let state = trainer.state.keys.sorted().map { "\($0): \(trainer.state[$0].map { "\($0.type)" } ?? "?")" }.joined(separator: "; ")
        let buckets = graphs.buckets.map { "\($0.slots.map(\.count))" }.joined(separator: "; ")
        // The plain options first: a different --batch also changes the graph (re-specialised)
        // and --optimizer the state, and the message should name the cause, not its effect.
        fields = [
            Field(name: "the batch per rank (--batch)", values: [Double(trainer.batchSize)]),
            Field(name: "the epochs (--epochs)", values: [Double(options.epochs)]),
            Field(name: "the seed (--seed)", values: Self.halves(options.seed)),
            Field(name: "the optimiser (--optimizer)", values: Self.hash(trainer.optimizer.description), isHash: true),
            Field(name: "the learning-rate schedule (--schedule)", values: Self.hash("\(options.schedule)"), isHash: true),
            Field(name: "the checkpoint resume (--resume)", values: [options.checkpoint?.resume == true ? 1 : 0]),
            Field(name: "the training examples (--data, --limit, --validation)", values: [Double(train.count)]),
            Field(name: "the steps per epoch", values: [Double(steps)]),
            Field(name: "the validation examples", values: [Double(held.count)]),
            Field(name: "the test examples", values: [Double(options.test?.count ?? 0)]),
            Field(name: "the training data (array names, types and a sample of values)", values: Self.hash(Self.sample(train)), isHash: true),
            Field(name: "the graph", values: Self.hash(Printer().print(trainer.forward)), isHash: true),
            Field(name: "the params and state (names and types)", values: Self.hash(state), isHash: true),
            Field(name: "the all-reduce buckets (--bucket-kb)", values: Self.hash(buckets), isHash: true),
        ]
    }

    /// The per-epoch fingerprint: the epoch number and the steps it will take.
    public init(epoch: Int, steps: Int) {
        fields = [Field(name: "the epoch number", values: [Double(epoch)]), Field(name: "the steps this epoch", values: [Double(steps)])]
    }

    /// FNV-1a of the UTF-8 bytes as two exact 32-bit halves (Swift's `Hasher` is seeded per
    /// process, so it cannot be compared across ranks).
    public static func hash(_ text: String) -> [Double] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return halves(h)
    }

    static func halves(_ v: UInt64) -> [Double] { [Double(v >> 32), Double(v & 0xFFFF_FFFF)] }

    /// Array names and types and up to 4,096 evenly spaced elements of each (as bit patterns):
    /// two ranks given different files of the same size disagree here, at a cost independent of
    /// the data set's size.
    static func sample(_ data: Dataset) -> String {
        var text = ""
        for name in data.names {
            guard let array = data[name] else { continue }
            text += "\(name): \(array.type):"
            let n = array.elementCount, stride = Swift.max(n / 4096, 1)
            let bits = UnsafeRawPointer(array.floatPointer).assumingMemoryBound(to: UInt32.self)
            for i in Swift.stride(from: 0, to: n, by: stride) { text += String(bits[i], radix: 16) + "," }
            text += ";"
        }
        return text
    }

    /// The flat vector exchanged.
    public var vector: [Double] { fields.flatMap(\.values) }

    /// The index of the first field where `other` (a vector of the same layout) differs.
    public func firstDifference(from other: [Double]) -> Int? {
        var offset = 0
        for (i, f) in fields.enumerated() {
            let end = offset + f.values.count
            guard end <= other.count else { return i }
            if Array(other[offset..<end]) != f.values { return i }
            offset = end
        }
        return nil
    }

    /// Field `index`'s values shown for a message.
    public func show(_ index: Int, _ values: [Double]) -> String {
        if values.count == 2 {
            // Two exact 32-bit halves: a hash, or a 64-bit value such as the seed.
            let v = ((UInt64(exactly: values[0]) ?? 0) << 32) | (UInt64(exactly: values[1]) ?? 0)
            return fields[index].isHash ? "hash \(String(v, radix: 16))" : "\(v)"
        }
        return values.map { Int(exactly: $0).map(String.init) ?? "\($0)" }.joined(separator: ", ")
    }

    /// The offset of field `index` in `vector`.
    func offset(of index: Int) -> Int { fields[..<index].reduce(0) { $0 + $1.values.count } }

    /// Exchanges the fingerprint: rank 0's is broadcast, each rank compares, and the first
    /// disagreeing rank (lowest), its field and its value are made known to every rank, which
    /// all throw the same error — before any collective whose size depends on these values.
    public func check(_ reducer: Reducer, when: String) throws {
        let rank = reducer.rank, ranks = reducer.size
        guard ranks > 1 else { return }
        let mine = vector
        var root = mine
        try reducer.broadcast(&root, root: 0)
        var verdicts = [Double](repeating: 0, count: ranks)
        verdicts[rank] = firstDifference(from: root).map { Double($0 + 1) } ?? 0
        try reducer.allReduceSum(&verdicts)
        guard let bad = verdicts.firstIndex(where: { $0 != 0 }), let index = Int(exactly: verdicts[bad] - 1), fields.indices.contains(index) else { return }
        let start = offset(of: index), count = fields[index].values.count
        var theirs = rank == bad ? Array(mine[start..<(start + count)]) : [Double](repeating: 0, count: count)
        try reducer.allReduceSum(&theirs)
        throw Diagnostic("ranks disagree \(when): rank \(bad) differs from rank 0 in \(fields[index].name): rank 0 has \(show(index, Array(root[start..<(start + count)]))), rank \(bad) has \(show(index, theirs)); every rank must run the same command on the same data")
    }
}
