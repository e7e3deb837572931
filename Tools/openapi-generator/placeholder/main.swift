// The package exists for its dependency, swift-openapi-generator; see Package.swift.
