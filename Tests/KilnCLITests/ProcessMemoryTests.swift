import Foundation
import Testing
@testable import kiln

/// The `kiln` process keeps freed memory (`ProcessMemory`), so the interpreter's steps do not
/// page-fault their tensors in again: a run's minor page faults barely grow with its steps.
struct ProcessMemoryTests {
    @Test("glibc's mallopt is found and takes both thresholds")
    func accepted() {
        #expect(ProcessMemory.keepFreedMemory())
    }

    /// The minor page faults of one `kiln` run (wait4's accounting of that child alone, so the
    /// processes other tests start at the same time do not count).
    private func minorFaults(_ arguments: [String]) throws -> Int {
        let argv: [UnsafeMutablePointer<CChar>?] = ([kilnBinary.path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Its report is not needed: both streams go to a file in a fresh directory.
        let sink = makeTemporaryDirectory() + "/out"
        defer { try? FileManager.default.removeItem(atPath: sink) }
        posix_spawn_file_actions_addopen(&actions, 1, sink, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid = pid_t()
        let spawned = posix_spawn(&pid, kilnBinary.path, &actions, nil, argv, environ)
        try #require(spawned == 0, "posix_spawn: \(spawned)")
        var status: Int32 = 0
        var usage = rusage()
        try #require(wait4(pid, &status, 0, &usage) == pid)
        try #require(status == 0, "kiln exited with status \(status)")
        return usage.ru_minflt
    }

    /// Measured on Graphs/mlp.kiln's Adam step, 280 more steps: without the setting ~36,000 more
    /// faults in a release build (~128 a step; ~2,500 when glibc falls into trimming every
    /// step) and ~10,000 in the debug build the tests run; with it ~1,100 (debug), ~0 (release).
    /// The test takes 100 more steps (~36 faults a step without the setting in debug: ~3,600).
    @Test("100 more interpreter steps page-fault fewer than 10 times each")
    func stepsDoNotFault() throws {
        let graph = repositoryRoot.appendingPathComponent("Graphs/mlp.kiln").path
        let common = ["bench", graph, "--train", "loss", "--optimizer", "adam:lr=0.001", "--warmup", "0"]
        let few = try minorFaults(common + ["--steps", "20"])
        let many = try minorFaults(common + ["--steps", "120"])
        print("kiln bench page faults: \(few) in 20 steps, \(many) in 120")
        #expect(many - few < 10 * 100, "\(few) faults in 20 steps, \(many) in 120")
    }
}
