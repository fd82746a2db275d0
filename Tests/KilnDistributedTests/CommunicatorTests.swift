import KilnIR
@testable import KilnDistributed
import Testing

/// The MPI wrapper in a world of one (Open MPI's singleton mode: no mpirun needed). The
/// multi-rank behaviour is tested through mpirun in Tests/Distributed.
struct CommunicatorTests {
    @Test("a world of one: rank 0 of 1, collectives are the identity, errors name the rank and the call")
    func singleton() throws {
        let world = try Communicator.shared()
        #expect(world.rank == 0 && world.size == 1)
        var floats: [Float] = [1, 2, 3]
        try floats.withUnsafeMutableBufferPointer { try world.allReduceSum($0.baseAddress!, count: $0.count) }
        #expect(floats == [1, 2, 3])
        var doubles = [0.5, 4]
        try world.allReduceSum(&doubles)
        try world.broadcast(&doubles, root: 0)
        #expect(doubles == [0.5, 4])
        try world.barrier()
        #expect(world.allReducedBytes == 12)
        // An MPI error code becomes a Kiln error with MPI's own message.
        let error = Communicator.error(1, call: "MPI_Allreduce of 3 floats", rank: 2)
        #expect(error.message.hasPrefix("MPI rank 2: MPI_Allreduce of 3 floats failed (error 1: "))
        #expect(error.message.contains("a peer rank may have died"))
    }
}
