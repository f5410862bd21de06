// Where the committed capture fixtures live.

enum Fixtures {
    /// The repository's `captures/` folder (found from this source file's path).
    static let captures: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/captures"
    }()

    static func path(_ relative: String) -> String { captures + "/" + relative }
}
