import Foundation
import Testing

/// The data-parallel verbs through the built binary, in a world of one (no mpirun: Open MPI's
/// singleton mode). Multi-rank runs are in Tests/Distributed (make test-distributed).
struct DistributedCommandTests {
    let mlp = repositoryRoot.appendingPathComponent("Graphs/mlp.kiln").path

    @Test("kiln dump --data-parallel shows the gradient graph, the all-reduce cut and the update graph")
    func dumpShowsTheCut() throws {
        let r = try runKiln(["dump", mlp, "--train", "loss", "--optimizer", "adam", "--data-parallel", "4"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("graph mlp_gradients {") && r.out.contains("graph mlp_update {"))
        #expect(r.out.contains("# 2. ---- cut: all_reduce (MPI_Allreduce, MPI_SUM, MPI_IN_PLACE, float32), then x 1/4 ----"))
        #expect(r.out.contains("d_w1[200704]") && r.out.contains("loss[1]"))
        let noTrain = try runKiln(["dump", mlp, "--data-parallel", "2"])
        #expect(noTrain.status == 1 && noTrain.err.contains("--data-parallel needs --train LOSS"))
    }

    @Test("kiln train --distributed refuses what it does not support, before MPI starts")
    func unsupportedOptions() throws {
        let r = try runKiln(["train", mlp, "--distributed", "--patience", "2", "--limit", "64"])
        #expect(r.status == 1 && r.err.contains("--distributed does not support --patience"))
        let bucket = try runKiln(["train", mlp, "--distributed", "--bucket-kb", "0", "--limit", "64"])
        #expect(bucket.status == 1 && bucket.err.contains("--bucket-kb must be between 1 and 1048576"))
    }

    @Test("kiln train --distributed without mpirun trains as a world of one")
    func singleRank() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runKiln(["train", mlp, "--distributed", "--limit", "256", "--validation", "0", "--optimizer", "sgd:lr=0.1",
                             "--checkpoint", "\(dir)/c.safetensors"],
                            environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "KILN_THREADS": "1"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("data-parallel: 1 rank(s) x batch 128 = global batch 128"))
        #expect(r.out.contains("distributed: 1 ranks, global batch 128, 2 steps"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/c.safetensors"))
    }
}
