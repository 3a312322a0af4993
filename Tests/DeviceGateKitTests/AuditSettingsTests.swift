import DeviceGateKit
import Foundation
import Testing

@Suite struct AuditSettingsTests {
    let loader = ConfigLoader(environment: [:])

    @Test func theWitnessIntervalIsHourlyUnlessSet() throws {
        #expect(try loader.parse("", path: nil).audit.witnessInterval == 3600)
        #expect(try loader.parse("[audit]\nwitness_interval = 600\n", path: nil).audit.witnessInterval == 600)
        #expect(try loader.parse("[audit]\nwitness_interval = 0\n", path: nil).audit.witnessInterval == nil, "0: only at shutdown")
    }

    @Test func badValuesNameTheLine() throws {
        #expect { _ = try loader.parse("[audit]\nwitness_interval = -5\n", path: "c.toml") } throws: {
            ($0 as? ConfigError)?.line == 2 && "\($0)".contains("witness_interval")
        }
        #expect { _ = try loader.parse("[audit]\nwitness = 5\n", path: "c.toml") } throws: { "\($0)".contains("unknown key `witness`") }
        #expect { _ = try loader.parse("audit = 5\n", path: "c.toml") } throws: { "\($0)".contains("[audit]") }
    }
}
