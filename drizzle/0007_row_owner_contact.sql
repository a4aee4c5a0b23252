ALTER TABLE `events` ADD `contact` text;--> statement-breakpoint
CREATE INDEX `events_contact` ON `events` (`site`,`contact`) WHERE contact IS NOT NULL;--> statement-breakpoint
ALTER TABLE `quarantine` ADD `contact` text;--> statement-breakpoint
CREATE INDEX `quarantine_contact` ON `quarantine` (`site`,`contact`) WHERE contact IS NOT NULL;--> statement-breakpoint
ALTER TABLE `segment_changes` ADD `contact` text;--> statement-breakpoint
CREATE INDEX `segment_changes_contact` ON `segment_changes` (`site`,`contact`) WHERE contact IS NOT NULL;