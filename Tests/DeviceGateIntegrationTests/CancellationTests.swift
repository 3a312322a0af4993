import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// Ctrl-C or SIGTERM while waiting for the person: polling stops at once, nothing is stored.
@Suite struct CancellationTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalStopsTheSignInAndStoresNothing(signal: Int32) throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["login", "work", "--json"]
        process.environment = box.environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for the code to be issued: from then on it is polling.
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(#""event":"device_code""#) {
            let chunk = out.fileHandleForReading.availableData
            try #require(!chunk.isEmpty, "login ended before issuing a code")
            seen.append(chunk)
        }
        kill(process.processIdentifier, signal)
        let rest = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let events = String(decoding: seen + rest, as: UTF8.self)
        #expect(events.contains(#""message":"cancelled""#))
        #expect(try box.store().load("work") == nil)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: box.dir.file("data")).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }
}
