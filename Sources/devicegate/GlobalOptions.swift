import ArgumentParser
import DeviceGateKit

/// Options every command that reads the config or store accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Config file (default: $XDG_CONFIG_HOME/devicegate/config.toml).", valueName: "path"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Token store directory (default: $XDG_DATA_HOME/devicegate).", valueName: "dir"))
    var dataDir: String?

    func workspace() throws -> Workspace {
        try Workspace.load(configPath: config, dataDir: dataDir)
    }
}
