/// The collectives data-parallel training uses. `Communicator` implements them over MPI;
/// tests implement them in one process.
public protocol Reducer: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Sums `count` floats across ranks, in place.
    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// Sums doubles across ranks, in place.
    func allReduceSum(_ values: inout [Double]) throws
    /// Copies `count` floats from `root` to every rank.
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) throws
    /// Copies doubles from `root` to every rank.
    func broadcast(_ values: inout [Double], root: Int) throws
}

extension Communicator: Reducer {}

/// A world of one process: every collective is the identity. Lets the data-parallel code
/// path run (and be tested) without MPI.
public final class SingleProcessReducer: Reducer {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    public func allReduceSum(_ values: inout [Double]) throws {}
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {}
    public func broadcast(_ values: inout [Double], root: Int) throws {}
}
