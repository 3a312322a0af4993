import HTTPTypes

/// An upstream answer's head as the agent may see it: hop-by-hop and connection-listed headers,
/// cookies, and any header carrying a token that was sent are dropped, the reason phrase too if
/// it carries one; the announced length is kept apart (redaction keeps it true, since a copy of
/// the token is overwritten with as many bytes). One implementation for every door.
public struct AnswerHead: Sendable {
    public let status: HTTPResponse.Status
    public let headers: HTTPFields
    public let contentLength: Int?
    /// The lowercased names of the headers dropped because they carried a sent token.
    public let dropped: [String]

    public init(
        status code: Int, reasonPhrase: String, headers upstream: some Sequence<(name: String, value: String)>, redactor: TokenRedactor
    ) {
        var headers = HTTPFields()
        let fields = Array(upstream)
        let listedNames = HeaderRules.connectionListed(fields.filter { $0.name.lowercased() == "connection" }.map(\.value))
        var length: Int?
        var dropped: [String] = []
        for (name, value) in fields {
            let lower = name.lowercased()
            if lower == "content-length" {
                length = Int(value)
                continue
            }
            guard HeaderRules.forwardable(lower, listed: listedNames, fromAgent: false), let field = HTTPField.Name(name) else { continue }
            if redactor.contains(value) {
                dropped.append(lower)
                continue
            }
            headers.append(HTTPField(name: field, value: value))
        }
        self.status = .init(code: code, reasonPhrase: redactor.contains(reasonPhrase) ? "" : reasonPhrase)
        self.headers = headers
        self.contentLength = length
        self.dropped = dropped
    }
}
