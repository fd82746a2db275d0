import Foundation
import Testing
@testable import kiln

/// Foundation errors reach the user as a path and a reason, not `NSCocoaErrorDomain Code=512`.
struct ErrorReportingTests {
    @Test("a Cocoa write error with an underlying POSIX error names the path and the reason")
    func cocoaWithPOSIX() {
        let error = NSError(domain: NSCocoaErrorDomain, code: 512, userInfo: [
            NSFilePathErrorKey: "/out/samples.png",
            NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC)),
        ])
        #expect(plainMessage(error) == "'/out/samples.png': No space left on device")
    }

    @Test("a POSIX error with a URL")
    func posixWithURL() {
        let error = NSError(domain: NSPOSIXErrorDomain, code: Int(EACCES), userInfo: [NSURLErrorKey: URL(fileURLWithPath: "/root/x")])
        #expect(plainMessage(error) == "'/root/x': Permission denied")
    }

    @Test("a real Foundation failure never prints NSCocoaErrorDomain")
    func realFailure() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/f", contents: Data())
        do {
            try FileManager.default.createDirectory(atPath: directory + "/f/sub", withIntermediateDirectories: true)
            Issue.record("created a directory under a file")
        } catch {
            let message = plainMessage(error)
            #expect(!message.contains("NSCocoaErrorDomain"))
            #expect(message.contains("\(directory)/f"))
        }
    }
}
