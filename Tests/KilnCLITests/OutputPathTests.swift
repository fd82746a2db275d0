import Foundation
import Testing
@testable import kiln

/// Paths options name for writing (issue 23, items 1–3): never empty, never a device, FIFO,
/// symbolic link or directory, never one of the command's inputs — refused before anything runs,
/// with exit status 2 and the option named. Special files are made in a temporary directory.
struct OutputPathTests {
    static let graph = repositoryRoot.appendingPathComponent("Graphs/xor_mlp.kiln").path

    @Test("an empty output path is refused by every option that takes one", arguments: [
        (["export", graph, "-o", ""], "--output: cannot write to an empty path"),
        (["import", "m.onnx", "-o", ""], "--output: cannot write to an empty path"),
        (["train", graph, "--checkpoint", ""], "--checkpoint: cannot write to an empty path"),
        (["train", graph, "--report", ""], "--report needs a directory path, got an empty one"),
        (["compare", graph, "--json", ""], "--json needs a file path"),
        (["run", graph, "--output-dir", ""], "--output-dir needs a directory path, got an empty one"),
        (["zoo", "--output-dir", ""], "--output-dir needs a directory path, got an empty one"),
    ])
    func empty(_ arguments: [String], _ expected: String) {
        #expect(validationMessage(Kiln.self, arguments) == expected)
    }

    @Test("devices, FIFOs, symlinks and directories are refused as -o, --json and --checkpoint, and stay what they were")
    func specialFiles() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var made: [(String, mode_t)] = []
        if mknod("\(dir)/mynull", S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0 { made.append(("mynull", S_IFCHR)) }
        #expect(mkfifo("\(dir)/fifo", 0o644) == 0)
        #expect(symlink("\(dir)/absent", "\(dir)/link") == 0)
        #expect(mkdir("\(dir)/sub", 0o755) == 0)
        made += [("fifo", S_IFIFO), ("link", S_IFLNK), ("sub", S_IFDIR)]
        for (name, kind) in made {
            let path = "\(dir)/\(name)"
            for arguments in [["export", Self.graph, "-o", path], ["train", Self.graph, "--checkpoint", path, "--overwrite"],
                              ["compare", Self.graph, "--json", path]] {
                let message = validationMessage(Kiln.self, arguments)
                #expect(message?.contains("cannot write '\(path)'") == true, "\(arguments): \(message ?? "accepted")")
            }
            var info = stat()
            #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == kind, "\(name) was replaced")
        }
        // Through the binary: exit status 2, and the device node is still a device.
        let r = try runKiln(["export", Self.graph, "-o", "\(dir)/fifo"])
        #expect(r.status == 2 && r.err.contains("--output: cannot write '\(dir)/fifo': not a regular file"), "\(r.err)")
    }

    @Test("import -o and export -o never write over their input, a directory or the parent directory")
    func importExportPaths() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let graph = try writeFile(try String(contentsOfFile: Self.graph, encoding: .utf8), "g.kiln", in: dir)
        #expect(try runKiln(["export", graph, "-o", "\(dir)/m.onnx"]).status == 0)
        let model = "\(dir)/m.onnx"
        let before = FileManager.default.contents(atPath: model)
        for (arguments, expected) in [
            (["export", graph, "-o", graph], "--output '\(graph)' is the input '\(graph)'"),
            (["export", graph, "-o", "\(dir)/./g.kiln"], "is the input '\(graph)'"),
            (["import", model, "-o", model], "--output '\(model)' is the input '\(model)'"),
            (["import", model, "-o", "\(dir)/sub/"], "--output '\(dir)/sub/' names a directory"),
            (["import", model, "-o", "\(dir)/."], "--output '\(dir)/.' names a directory"),
            (["import", model, "-o", "."], "--output '.' names a directory"),
            (["import", model, "-o", "\(dir)/m.safetensors"], "is where the weights go"),
        ] {
            let r = try runKiln(arguments)
            #expect(r.status == 2 && r.err.contains(expected), "\(arguments): \(r.err)")
        }
        #expect(FileManager.default.contents(atPath: model) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["g.kiln", "m.onnx"])
        #expect(!FileManager.default.fileExists(atPath: URL(fileURLWithPath: dir).deletingLastPathComponent().path + "/" + URL(fileURLWithPath: dir).lastPathComponent + ".safetensors"))
        // The weights go beside -o, with its extension replaced in the file name only.
        let r = try runKiln(["import", model, "-o", "\(dir)/out.v1.kiln"])
        #expect(r.status == 0, "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/out.v1.safetensors"))
    }
}
