import KilnIR
import KilnSupport

/// A graph-to-graph transformation with a name the pipeline and the CLI refer to.
public protocol Pass {
    /// The pass's name in `--passes=` and `--print-after=`.
    var name: String { get }
    func run(_ graph: Graph) throws -> Graph
}

/// A pass that can explain its decisions (fusion says why it refused a candidate).
public protocol RemarkingPass: Pass {
    func runWithRemarks(_ graph: Graph) throws -> (graph: Graph, remarks: [String])
}

/// Gives every node its inferred type; errors name the op, its location and the shapes.
public struct ShapeInference: Pass {
    public let name = "infer-shapes"
    public init() {}
    public func run(_ graph: Graph) throws -> Graph { try inferTypes(graph) }
}

/// Runs passes in order, verifying after each when asked, and printing the IR around
/// the passes the user names.
public struct PassManager {
    public var passes: [any Pass]
    public var verifyEach: Bool
    public var printAfter: Set<String>
    public var printBefore: Set<String>
    public var printAfterAll: Bool
    /// Where IR dumps go (standard error by default, so standard output stays the result).
    public var dump: (String) -> Void

    public init(_ passes: [any Pass], verifyEach: Bool = true, printAfter: Set<String> = [],
                printBefore: Set<String> = [], printAfterAll: Bool = false,
                dump: @escaping (String) -> Void = { FileHandleOutput.standardError.write($0) }) {
        self.passes = passes
        self.verifyEach = verifyEach
        self.printAfter = printAfter
        self.printBefore = printBefore
        self.printAfterAll = printAfterAll
        self.dump = dump
    }

    /// Statistics of one pass run.
    public struct Record {
        public var pass: String
        public var seconds: Double
        public var nodesBefore: Int
        public var nodesAfter: Int
        /// What the pass chose not to do, and why.
        public var remarks: [String]
    }

    public private(set) var records: [Record] = []

    public mutating func run(_ graph: Graph) throws -> Graph {
        var current = graph
        records = []
        for pass in passes {
            if printBefore.contains(pass.name) { dump("// ----- IR before \(pass.name) -----\n" + current.text) }
            let start = monotonicSeconds()
            var remarks: [String] = []
            let next: Graph
            if let remarking = pass as? any RemarkingPass {
                (next, remarks) = try remarking.runWithRemarks(current)
            } else {
                next = try pass.run(current)
            }
            records.append(Record(pass: pass.name, seconds: monotonicSeconds() - start,
                                  nodesBefore: current.nodes.count, nodesAfter: next.nodes.count, remarks: remarks))
            if verifyEach {
                do { try Verifier().verify(next) } catch let d as Diagnostic {
                    throw Diagnostic("after pass \(pass.name): \(d.message)", at: d.location)
                }
            }
            current = next
            if printAfterAll || printAfter.contains(pass.name) {
                dump("// ----- IR after \(pass.name) -----\n" + current.text)
            }
        }
        return current
    }
}
