package zendesksim

import "fmt"

// TimeZone is one of the time zones Zendesk lets a user choose, as List
// Time Zones (GET /api/v2/time_zones.json, no authentication needed)
// answers it:
// https://developer.zendesk.com/api-reference/ticketing/account-configuration/time_zones/
//
// Name is what a user's time_zone holds and Update User takes, e.g.
// "Eastern Time (US & Canada)" or "Amsterdam"; IANAName is the tz
// database's name for it, e.g. "America/New_York"; Offset is minutes east
// of UTC and FormattedOffset the same written out, "GMT-05:00" (the
// reference lists the fields; that format is a guess).
type TimeZone struct {
	Name            string `json:"name"`
	TranslatedName  string `json:"translated_name"`
	IANAName        string `json:"iana_name"`
	Offset          int    `json:"offset"`
	FormattedOffset string `json:"formatted_offset"`
}

// TimeZones returns the time zones Zendesk knows, by offset and then name:
// what a simulated List Time Zones answers, {"time_zones": TimeZones()}.
//
// Zendesk's names are those of Rails' ActiveSupport::TimeZone::MAPPING
// ("Eastern Time (US & Canada)", "Amsterdam", "Copenhagen"), and the
// simulator takes that list as Zendesk's; that they are exactly the same
// is a guess:
// https://github.com/rails/rails/blob/main/activesupport/lib/active_support/values/time_zone.rb
// Offsets are each zone's standard (winter) offset; Zendesk may show the
// offset in force today, which the simulator does not follow. The English
// name is the translated name: the simulator speaks only en-US.
func TimeZones() []TimeZone {
	out := make([]TimeZone, len(timeZones))
	for i, z := range timeZones {
		out[i] = TimeZone{Name: z.name, TranslatedName: z.name, IANAName: z.iana, Offset: z.offset, FormattedOffset: formatOffset(z.offset)}
	}
	return out
}

// ianaName returns the tz database name of Zendesk's zone name, and
// whether Zendesk knows the name at all.
func ianaName(name string) (string, bool) {
	for _, z := range timeZones {
		if z.name == name {
			return z.iana, true
		}
	}
	return "", false
}

// formatOffset writes minutes east of UTC as "GMT+01:00".
func formatOffset(minutes int) string {
	sign := '+'
	if minutes < 0 {
		sign, minutes = '-', -minutes
	}
	return fmt.Sprintf("GMT%c%02d:%02d", sign, minutes/60, minutes%60)
}

// timeZones is Rails' mapping with each zone's standard offset in minutes,
// sorted by offset and then name.
var timeZones = [...]struct {
	name, iana string
	offset     int
}{
	{"American Samoa", "Pacific/Pago_Pago", -660},
	{"International Date Line West", "Pacific/Midway", -660},
	{"Midway Island", "Pacific/Midway", -660},
	{"Hawaii", "Pacific/Honolulu", -600},
	{"Alaska", "America/Juneau", -540},
	{"Pacific Time (US & Canada)", "America/Los_Angeles", -480},
	{"Tijuana", "America/Tijuana", -480},
	{"Arizona", "America/Phoenix", -420},
	{"Mazatlan", "America/Mazatlan", -420},
	{"Mountain Time (US & Canada)", "America/Denver", -420},
	{"Central America", "America/Guatemala", -360},
	{"Central Time (US & Canada)", "America/Chicago", -360},
	{"Chihuahua", "America/Chihuahua", -360},
	{"Guadalajara", "America/Mexico_City", -360},
	{"Mexico City", "America/Mexico_City", -360},
	{"Monterrey", "America/Monterrey", -360},
	{"Saskatchewan", "America/Regina", -360},
	{"Bogota", "America/Bogota", -300},
	{"Eastern Time (US & Canada)", "America/New_York", -300},
	{"Indiana (East)", "America/Indiana/Indianapolis", -300},
	{"Lima", "America/Lima", -300},
	{"Quito", "America/Lima", -300},
	{"Atlantic Time (Canada)", "America/Halifax", -240},
	{"Caracas", "America/Caracas", -240},
	{"Georgetown", "America/Guyana", -240},
	{"La Paz", "America/La_Paz", -240},
	{"Puerto Rico", "America/Puerto_Rico", -240},
	{"Santiago", "America/Santiago", -240},
	{"Newfoundland", "America/St_Johns", -210},
	{"Brasilia", "America/Sao_Paulo", -180},
	{"Buenos Aires", "America/Argentina/Buenos_Aires", -180},
	{"Montevideo", "America/Montevideo", -180},
	{"Greenland", "America/Godthab", -120},
	{"Mid-Atlantic", "Atlantic/South_Georgia", -120},
	{"Azores", "Atlantic/Azores", -60},
	{"Cape Verde Is.", "Atlantic/Cape_Verde", -60},
	{"Dublin", "Europe/Dublin", 0},
	{"Edinburgh", "Europe/London", 0},
	{"Lisbon", "Europe/Lisbon", 0},
	{"London", "Europe/London", 0},
	{"Monrovia", "Africa/Monrovia", 0},
	{"UTC", "Etc/UTC", 0},
	{"Amsterdam", "Europe/Amsterdam", 60},
	{"Belgrade", "Europe/Belgrade", 60},
	{"Berlin", "Europe/Berlin", 60},
	{"Bern", "Europe/Zurich", 60},
	{"Bratislava", "Europe/Bratislava", 60},
	{"Brussels", "Europe/Brussels", 60},
	{"Budapest", "Europe/Budapest", 60},
	{"Casablanca", "Africa/Casablanca", 60},
	{"Copenhagen", "Europe/Copenhagen", 60},
	{"Ljubljana", "Europe/Ljubljana", 60},
	{"Madrid", "Europe/Madrid", 60},
	{"Paris", "Europe/Paris", 60},
	{"Prague", "Europe/Prague", 60},
	{"Rome", "Europe/Rome", 60},
	{"Sarajevo", "Europe/Sarajevo", 60},
	{"Skopje", "Europe/Skopje", 60},
	{"Stockholm", "Europe/Stockholm", 60},
	{"Vienna", "Europe/Vienna", 60},
	{"Warsaw", "Europe/Warsaw", 60},
	{"West Central Africa", "Africa/Algiers", 60},
	{"Zagreb", "Europe/Zagreb", 60},
	{"Zurich", "Europe/Zurich", 60},
	{"Athens", "Europe/Athens", 120},
	{"Bucharest", "Europe/Bucharest", 120},
	{"Cairo", "Africa/Cairo", 120},
	{"Harare", "Africa/Harare", 120},
	{"Helsinki", "Europe/Helsinki", 120},
	{"Jerusalem", "Asia/Jerusalem", 120},
	{"Kaliningrad", "Europe/Kaliningrad", 120},
	{"Kyiv", "Europe/Kiev", 120},
	{"Pretoria", "Africa/Johannesburg", 120},
	{"Riga", "Europe/Riga", 120},
	{"Sofia", "Europe/Sofia", 120},
	{"Tallinn", "Europe/Tallinn", 120},
	{"Vilnius", "Europe/Vilnius", 120},
	{"Baghdad", "Asia/Baghdad", 180},
	{"Istanbul", "Europe/Istanbul", 180},
	{"Kuwait", "Asia/Kuwait", 180},
	{"Minsk", "Europe/Minsk", 180},
	{"Moscow", "Europe/Moscow", 180},
	{"Nairobi", "Africa/Nairobi", 180},
	{"Riyadh", "Asia/Riyadh", 180},
	{"St. Petersburg", "Europe/Moscow", 180},
	{"Volgograd", "Europe/Volgograd", 180},
	{"Tehran", "Asia/Tehran", 210},
	{"Abu Dhabi", "Asia/Muscat", 240},
	{"Baku", "Asia/Baku", 240},
	{"Muscat", "Asia/Muscat", 240},
	{"Samara", "Europe/Samara", 240},
	{"Tbilisi", "Asia/Tbilisi", 240},
	{"Yerevan", "Asia/Yerevan", 240},
	{"Kabul", "Asia/Kabul", 270},
	{"Almaty", "Asia/Almaty", 300},
	{"Ekaterinburg", "Asia/Yekaterinburg", 300},
	{"Islamabad", "Asia/Karachi", 300},
	{"Karachi", "Asia/Karachi", 300},
	{"Tashkent", "Asia/Tashkent", 300},
	{"Chennai", "Asia/Kolkata", 330},
	{"Kolkata", "Asia/Kolkata", 330},
	{"Mumbai", "Asia/Kolkata", 330},
	{"New Delhi", "Asia/Kolkata", 330},
	{"Sri Jayawardenepura", "Asia/Colombo", 330},
	{"Kathmandu", "Asia/Kathmandu", 345},
	{"Astana", "Asia/Dhaka", 360},
	{"Dhaka", "Asia/Dhaka", 360},
	{"Urumqi", "Asia/Urumqi", 360},
	{"Rangoon", "Asia/Rangoon", 390},
	{"Bangkok", "Asia/Bangkok", 420},
	{"Hanoi", "Asia/Bangkok", 420},
	{"Jakarta", "Asia/Jakarta", 420},
	{"Krasnoyarsk", "Asia/Krasnoyarsk", 420},
	{"Novosibirsk", "Asia/Novosibirsk", 420},
	{"Beijing", "Asia/Shanghai", 480},
	{"Chongqing", "Asia/Chongqing", 480},
	{"Hong Kong", "Asia/Hong_Kong", 480},
	{"Irkutsk", "Asia/Irkutsk", 480},
	{"Kuala Lumpur", "Asia/Kuala_Lumpur", 480},
	{"Perth", "Australia/Perth", 480},
	{"Singapore", "Asia/Singapore", 480},
	{"Taipei", "Asia/Taipei", 480},
	{"Ulaanbaatar", "Asia/Ulaanbaatar", 480},
	{"Osaka", "Asia/Tokyo", 540},
	{"Sapporo", "Asia/Tokyo", 540},
	{"Seoul", "Asia/Seoul", 540},
	{"Tokyo", "Asia/Tokyo", 540},
	{"Yakutsk", "Asia/Yakutsk", 540},
	{"Adelaide", "Australia/Adelaide", 570},
	{"Darwin", "Australia/Darwin", 570},
	{"Brisbane", "Australia/Brisbane", 600},
	{"Canberra", "Australia/Melbourne", 600},
	{"Guam", "Pacific/Guam", 600},
	{"Hobart", "Australia/Hobart", 600},
	{"Melbourne", "Australia/Melbourne", 600},
	{"Port Moresby", "Pacific/Port_Moresby", 600},
	{"Sydney", "Australia/Sydney", 600},
	{"Vladivostok", "Asia/Vladivostok", 600},
	{"Magadan", "Asia/Magadan", 660},
	{"New Caledonia", "Pacific/Noumea", 660},
	{"Solomon Is.", "Pacific/Guadalcanal", 660},
	{"Srednekolymsk", "Asia/Srednekolymsk", 660},
	{"Auckland", "Pacific/Auckland", 720},
	{"Fiji", "Pacific/Fiji", 720},
	{"Kamchatka", "Asia/Kamchatka", 720},
	{"Marshall Is.", "Pacific/Majuro", 720},
	{"Wellington", "Pacific/Auckland", 720},
	{"Chatham Is.", "Pacific/Chatham", 765},
	{"Nuku'alofa", "Pacific/Tongatapu", 780},
	{"Samoa", "Pacific/Apia", 780},
	{"Tokelau Is.", "Pacific/Fakaofo", 780},
}
