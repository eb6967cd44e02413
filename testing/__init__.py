"""What tests/ and bench/ share: servers on free loopback ports, Chromium pages, the page's websocket
protocol client (wsclient), hostile and classroom clients (hostile), the live stream's client
(streamclient), /proc readers. Importable from the repository root (pytest's rootdir, and
``python -m bench.NAME``), with no sys.path edits."""
