import DeviceGateKit
import Foundation

/// Store files: any bytes as a profile's file, or (input starting with `P`) any plaintext
/// sealed with the fixed key, so the record decoder behind the authentication check is reached.
enum StoreTarget {
    static func run(_ data: Data) {
        let store = FuzzFixtures.store
        let file: Data
        if data.first == UInt8(ascii: "P") {
            guard let sealed = try? store.seal(record: data.dropFirst(), profile: "work") else { return }
            file = sealed
        } else {
            file = data
        }
        guard let entry = try? store.decode(file: file, profile: "work") else { return }
        _ = entry.tokens.isUsable(at: FuzzFixtures.now, minimumTTL: 300)
        _ = entry.identity?.displayName
    }
}
