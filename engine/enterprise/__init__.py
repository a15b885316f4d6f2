"""One file per enterprise (一企一档): its records, its core, its links from hazards and alerts, its views."""
