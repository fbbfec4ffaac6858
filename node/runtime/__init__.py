"""The ground node daemon: ``daemon.py`` drives one engine with sockets and the clock,
``service.py`` runs it as a service (signals, systemd, API, metrics)."""
