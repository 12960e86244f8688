"""The buggy zoo: small servers with one realistic socket bug each, for testing wirefault itself."""
