import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

@Suite struct ApprovalTicketTests {
    let directory = TemporaryDirectory()

    func signer(_ name: String = "one") throws -> ApprovalTicket.Signer {
        ApprovalTicket.Signer(storeKey: try TokenStore(directory: directory.file(name), keyFile: nil).key)
    }

    @Test func aTicketFitsAButtonAndReadsBack() throws {
        let signer = try signer()
        let ticket = ApprovalTicket(action: "o", id: HeldRequestID())
        let data = signer.encode(ticket, for: "-1001")
        #expect(data.utf8.count == ApprovalTicket.length)
        #expect(data.utf8.count <= 64)
        #expect(signer.decode(data, from: "-1001") == ticket)
    }

    @Test func alteredForeignAndMalformedTicketsAreRefused() throws {
        let signer = try signer()
        let id = HeldRequestID()
        let data = signer.encode(ApprovalTicket(action: "d", id: id), for: "42")
        // Another action on the same request, under the original MAC.
        #expect(signer.decode("o" + data.dropFirst(), from: "42") == nil)
        // Another request.
        #expect(signer.decode("d" + HeldRequestID().text + data.dropFirst(17), from: "42") == nil)
        // One MAC character flipped.
        var bytes = Array(data.utf8)
        bytes[30] = bytes[30] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(signer.decode(String(decoding: bytes, as: UTF8.self), from: "42") == nil)
        // The right button copied into another chat.
        #expect(signer.decode(data, from: "43") == nil)
        // Another devicegate's key.
        #expect(try self.signer("two").decode(data, from: "42") == nil)
        for junk in ["", "o", String(repeating: "A", count: 39), data + "x", String(data.dropLast()), "é" + data.dropFirst(2)] {
            #expect(signer.decode(junk, from: "42") == nil)
        }
    }

    @Test func requestIDsAreBase64URLAndDistinct() {
        let ids = (0..<1000).map { _ in HeldRequestID().text }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { HeldRequestID($0) != nil })
        #expect(HeldRequestID("abc") == nil)
        #expect(HeldRequestID("AAAAAAAAAAAAAAA+") == nil)
    }
}
