import Foundation
import KilnSupport
import Testing
@testable import KilnJIT

/// The on-disk cache of compiled modules: whole files only, damaged ones ignored and removed,
/// the folder kept under its capacity, and a second session running cached machine code.
@Suite(.serialized)
struct ObjectCacheTests {
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cache-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("an object comes back as stored; a damaged or truncated file is ignored and removed")
    func roundTripAndDamage() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cache = ObjectCache(directory: folder)
        let object = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        cache.store("k1", object)
        #expect(cache.load("k1") == object)
        #expect(cache.load("missing") == nil)
        // Flip one byte of the body: the checksum no longer matches.
        let path = folder.appendingPathComponent("k1.o")
        var bytes = try Data(contentsOf: path)
        bytes[10] ^= 0xFF
        try bytes.write(to: path)
        #expect(cache.load("k1") == nil)
        #expect(!FileManager.default.fileExists(atPath: path.path), "a damaged object is removed")
        // A truncated file (a writer killed mid-way could only leave a temporary name, but a
        // file cut by hand must not load either).
        cache.store("k2", object)
        let path2 = folder.appendingPathComponent("k2.o")
        try Data(try Data(contentsOf: path2).prefix(500)).write(to: path2)
        #expect(cache.load("k2") == nil)
        // A directory in the object's place is not read.
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("k3.o"), withIntermediateDirectories: true)
        #expect(cache.load("k3") == nil)
    }

    /// Five objects of 1016 bytes (with the trailer) against 4000: trimming to the capacity
    /// would keep three; the trim goes down to three quarters of it (3000), so it keeps two.
    @Test("the folder stays under its capacity, oldest objects removed first, down to the low-water mark")
    func capacity() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var cache = ObjectCache(directory: folder)
        cache.capacity = 4000
        for i in 0..<5 {
            cache.store("k\(i)", Data(repeating: UInt8(i), count: 1000))
            // Distinct modification times, oldest first.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: Double(1000 + i))],
                                                  ofItemAtPath: folder.appendingPathComponent("k\(i).o").path)
        }
        cache.trim()
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".o") }.sorted()
        #expect(left == ["k3.o", "k4.o"])
        #expect(cache.clear() == 2)
    }

    /// A store lists the folder (a stat per file) only when the bytes this process knows of
    /// pass capacity: a file another process added is not seen until then.
    @Test("stores list the folder only when their running estimate passes capacity")
    func lazyTrim() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var cache = ObjectCache(directory: folder)
        cache.capacity = 5000
        cache.store("first", Data(repeating: 1, count: 1000))  // the first store counts the folder
        let foreign = folder.appendingPathComponent("foreign.o")
        try Data(repeating: 9, count: 10_000).write(to: foreign)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1)], ofItemAtPath: foreign.path)
        cache.store("second", Data(repeating: 2, count: 1000))  // estimate ~2000: no listing
        #expect(FileManager.default.fileExists(atPath: foreign.path), "trimmed although the estimate was under capacity")
        cache.store("third", Data(repeating: 3, count: 3500))  // estimate ~5500: lists, removes the oldest
        #expect(!FileManager.default.fileExists(atPath: foreign.path), "the estimate passed capacity but nothing was trimmed")
    }

    /// A new process (its running estimate forgotten) reads the folder's size from the ledger
    /// instead of listing it: a file no store recorded survives until the ledger's total passes
    /// capacity; a ledger that cannot be trusted is replaced by a listing.
    @Test("a new process takes the folder's size from the ledger; a damaged ledger means a listing")
    func ledger() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var cache = ObjectCache(directory: folder)
        cache.capacity = 5000
        let forget = { _ = ObjectCache.knownBytes.withLock { $0.removeValue(forKey: folder.path) } }
        cache.store("first", Data(repeating: 1, count: 1000))  // no ledger yet: lists, writes one
        let ledger = ObjectCache.Ledger(directory: folder)
        #expect(ledger.sum()?.bytes == 1016 && ledger.sum()?.records == 1)
        let foreign = folder.appendingPathComponent("foreign.o")
        try Data(repeating: 9, count: 10_000).write(to: foreign)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1)], ofItemAtPath: foreign.path)
        forget()
        cache.store("second", Data(repeating: 2, count: 1000))  // ledger 2032: no listing
        #expect(FileManager.default.fileExists(atPath: foreign.path), "listed although the ledger was under capacity")
        #expect(ledger.sum()?.bytes == 2032 && ledger.sum()?.records == 2)
        forget()
        cache.store("third", Data(repeating: 3, count: 3500))  // ledger 5548: lists, removes the oldest
        #expect(!FileManager.default.fileExists(atPath: foreign.path), "the ledger passed capacity but nothing was trimmed")
        #expect(ledger.sum()?.records == 1, "a trim restarts the ledger from its listing")
        // A ledger cut mid-record is not trusted: the next new process lists the folder.
        try Data(repeating: 0, count: 12).write(to: folder.appendingPathComponent(".ledger"))
        #expect(ledger.sum() == nil)
        try Data(repeating: 9, count: 10_000).write(to: foreign)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1)], ofItemAtPath: foreign.path)
        forget()
        cache.store("fourth", Data(repeating: 4, count: 10))
        #expect(!FileManager.default.fileExists(atPath: foreign.path), "a damaged ledger was trusted")
        // A symlink in the ledger's place is neither followed nor trusted.
        let target = folder.appendingPathComponent("target")
        try Data(repeating: 0, count: 8).write(to: target)
        try FileManager.default.removeItem(at: folder.appendingPathComponent(".ledger"))
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(".ledger"), withDestinationURL: target)
        #expect(ledger.sum() == nil && !ledger.append(5))
        #expect(try Data(contentsOf: target).count == 8, "the ledger's symlink was written through")
    }

    @Test("a second session runs the cached machine code without optimising")
    func secondSessionHitsTheCache() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ir = """
            define i64 @cache_test_triple(i64 %x) {
              %y = mul i64 %x, 3
              ret i64 %y
            }
            """
        typealias F = @convention(c) (Int64) -> Int64
        for expectHit in [false, true] {
            let session = try JITSession(cacheDirectory: folder)
            #expect(session.cacheDirectory?.path == folder.path)
            let compiled = try session.compile(ir, symbols: ["cache_test_triple"])
            #expect(compiled.fromCache == expectHit)
            let address = try #require(compiled.symbols["cache_test_triple"])
            let f = unsafeBitCast(try #require(UnsafeRawPointer(bitPattern: UInt(address))), to: F.self)
            #expect(f(14) == 42)
        }
    }

    @Test("every kernel of a parted module runs; a second session takes every part from the cache")
    func runsAndCaches() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = (0..<24).map { "run_k\($0)" }
        typealias F = @convention(c) (Int64) -> Int64
        for expectHit in [false, true] {
            let session = try JITSession(cacheDirectory: folder)  // kept alive while its code runs
            let compiled = try session.compile(PartedEmissionTests.module(24, prefix: "run_k"), symbols: names)
            #expect(compiled.fromCache == expectHit)
            for (i, name) in names.enumerated() {
                let address = try #require(compiled.symbols[name])
                let f = unsafeBitCast(try #require(UnsafeRawPointer(bitPattern: UInt(address))), to: F.self)
                #expect(f(5) == Int64(5 * (i + 2)), "\(name)")
            }
            withExtendedLifetime(session) {}
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        let parts = Swift.min(kilnThreadCount, 4)
        #expect(files.filter { $0.contains("-part") }.count == (parts > 1 ? parts : 0), "cache holds \(files)")
    }
}
