/* learn_cues: a small hand-written lexicon of cue words for the built-in model. A word (or a
 * pair of words, or a run of Japanese) that names a part of the system (database, disk,
 * certificate...) or says something about impact or urgency (all users, one host, data
 * loss, expiring, resolved, next sprint...) adds a cue feature shared by every language
 * of the corpus, so "Datenbank", "base de datos", "база данных" and "データベース" teach
 * each other what "database" teaches. Cues are features only: what an incident's text
 * says about itself never decides anything (incident text is never obeyed). */
#include "learn_cues.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* One entry: words matched against lower-cased tokens. "stem" matches a token that starts
 * with it, "word$" only the whole token, and "first stem" a token one or two words after
 * the word first. */
typedef struct {
	const char *words;
	const char *cue;
} cue_entry;

static const cue_entry word_cues[] = {
	/* ---- where the fault is ---- */
	{"database", "c.db"}, {"datenbank", "c.db"}, {"db$", "c.db"}, {"dbs$", "c.db"},
	{"postgres", "c.db"}, {"pg$", "c.db"}, {"mysql", "c.db"}, {"mariadb", "c.db"},
	{"mongo", "c.db"}, {"redis", "c.db"}, {"cassandra", "c.db"}, {"sql$", "c.db"},
	{"replica", "c.db"}, {"réplica", "c.db"}, {"replikat", "c.db"}, {"реплик", "c.db"},
	{"query", "c.db"}, {"queries", "c.db"}, {"abfrage", "c.db"}, {"consulta", "c.db"},
	{"requête", "c.db"}, {"zapytan", "c.db"}, {"запрос", "c.db"}, {"deadlock", "c.db"},
	{"vacuum", "c.db"}, {"schema", "c.db"}, {"tabel", "c.db"}, {"table$", "c.db"},
	{"tables$", "c.db"}, {"index$", "c.db"}, {"baza danych", "c.db"}, {"base dat", "c.db"},
	{"base donn", "c.db"}, {"banco dad", "c.db"}, {"база данн", "c.db"}, {"баз$", "c.db"},
	{"базы$", "c.db"}, {"базе$", "c.db"}, {"databas", "c.db"}, {"elasticsearch", "c.db"},
	{"disk", "c.disk"}, {"disco", "c.disk"}, {"disque", "c.disk"}, {"dysk", "c.disk"},
	{"диск", "c.disk"}, {"festplatte", "c.disk"}, {"volume", "c.disk"},
	{"filesystem", "c.disk"}, {"inode", "c.disk"}, {"pvc$", "c.disk"}, {"persistent", "c.disk"},
	{"storage", "c.disk"}, {"stockage", "c.disk"}, {"speicherplatz", "c.disk"},
	{"armazenamento", "c.disk"}, {"almacenamiento", "c.disk"}, {"хранилищ", "c.disk"},
	{"quota", "c.disk"}, {"квот", "c.disk"}, {"nas$", "c.disk"}, {"san$", "c.disk"},
	{"raid", "c.disk"}, {"backup", "c.backup"}, {"sauvegarde", "c.backup"},
	{"sicherung", "c.backup"}, {"copia seguridad", "c.backup"}, {"резервн", "c.backup"},
	{"kopia zapas", "c.backup"}, {"kopii zapas", "c.backup"}, {"snapshot", "c.backup"},
	{"restore", "c.backup"}, {"network", "c.net"}, {"netzwerk", "c.net"}, {"netwerk", "c.net"},
	{"réseau", "c.net"}, {"rede$", "c.net"}, {"red$", "c.net"}, {"sieć", "c.net"},
	{"sieci", "c.net"}, {"сеть", "c.net"}, {"сети", "c.net"}, {"сетев", "c.net"},
	{"dns$", "c.net"}, {"router", "c.net"}, {"switch", "c.net"}, {"bgp$", "c.net"},
	{"vpn$", "c.net"}, {"wifi", "c.net"}, {"wlan", "c.net"}, {"packet", "c.net"},
	{"paket", "c.net"}, {"latency", "c.net"}, {"latenc", "c.net"}, {"latência", "c.net"},
	{"opóźnien", "c.net"}, {"load balancer", "c.net"}, {"loadbalancer", "c.net"},
	{"balancer", "c.net"}, {"балансировщик", "c.net"}, {"ingress", "c.net"}, {"cdn$", "c.net"},
	{"link$", "c.net"}, {"certificate", "c.cert"}, {"cert$", "c.cert"}, {"certs$", "c.cert"},
	{"zertifikat", "c.cert"}, {"certificado", "c.cert"}, {"certificat", "c.cert"},
	{"certyfikat", "c.cert"}, {"сертификат", "c.cert"}, {"certificaat", "c.cert"},
	{"tls$", "c.cert"}, {"ssl$", "c.cert"}, {"cpu$", "c.host"}, {"memory", "c.host"},
	{"speicher$", "c.host"}, {"memoria", "c.host"}, {"mémoire", "c.host"},
	{"memória", "c.host"}, {"pamięć", "c.host"}, {"pamięci", "c.host"}, {"памят", "c.host"},
	{"oom", "c.host"}, {"pod$", "c.host"}, {"pods$", "c.host"}, {"node$", "c.host"},
	{"nodes$", "c.host"}, {"nodo", "c.host"}, {"nœud", "c.host"}, {"węzeł", "c.host"},
	{"узел", "c.host"}, {"host$", "c.host"}, {"hosts$", "c.host"}, {"server", "c.host"},
	{"servidor", "c.host"}, {"serveur", "c.host"}, {"serwer", "c.host"}, {"сервер", "c.host"},
	{"vm$", "c.host"}, {"vms$", "c.host"}, {"kernel", "c.host"}, {"container", "c.host"},
	{"kube", "c.host"}, {"replicas", "c.host"}, {"runner", "c.host"}, {"worker", "c.host"},
	{"heap", "c.host"}, {"swap", "c.host"}, {"load average", "c.host"},
	{"przeciążon", "c.host"}, {"перегруж", "c.host"}, {"überlastet", "c.host"},
	{"sobrecargad", "c.host"}, {"surcharg", "c.host"}, {"evicted", "c.host"},
	{"exception", "c.app"}, {"error", "c.app"}, {"errors", "c.app"}, {"fehler", "c.app"},
	{"erreur", "c.app"}, {"erro$", "c.app"}, {"erros$", "c.app"}, {"errore", "c.app"},
	{"fout", "c.app"}, {"błąd", "c.app"}, {"błęd", "c.app"}, {"ошибк", "c.app"},
	{"bug", "c.app"}, {"5xx", "c.app"}, {"500$", "c.app"}, {"502$", "c.app"}, {"503$", "c.app"},
	{"typeerror", "c.app"}, {"nullpointer", "c.app"}, {"stack", "c.app"}, {"button", "c.app"},
	{"page$", "c.app"}, {"screen", "c.app"}, {"checkout", "c.app"}, {"login", "c.app"},
	{"app$", "c.app"}, {"aplikac", "c.app"}, {"приложени", "c.app"}, {"aplicaç", "c.app"},
	{"aplicación", "c.app"}, {"anwendung", "c.app"}, {"sentry", "c.app"},
	{"deploy", "c.deploy"}, {"release", "c.deploy"}, {"rollout", "c.deploy"},
	{"rollback", "c.deploy"}, {"roll back", "c.deploy"}, {"rolled back", "c.deploy"},
	{"canary", "c.deploy"}, {"helm", "c.deploy"}, {"argocd", "c.deploy"},
	{"pipeline", "c.deploy"}, {"migration", "c.deploy"}, {"feature flag", "c.deploy"},
	{"config change", "c.deploy"}, {"configuration change", "c.deploy"},
	{"despliegue", "c.deploy"}, {"déploiement", "c.deploy"}, {"implantação", "c.deploy"},
	{"implementação", "c.deploy"}, {"wdrożeni", "c.deploy"}, {"деплой", "c.deploy"},
	{"релиз", "c.deploy"}, {"развертыван", "c.deploy"}, {"развёртыван", "c.deploy"},
	{"обновлени", "c.deploy"}, {"aktualizacj", "c.deploy"}, {"actualización", "c.deploy"},
	{"atualização", "c.deploy"}, {"mise jour", "c.deploy"}, {"aggiornamento", "c.deploy"},
	{"update$", "c.deploy"}, {"upgrade", "c.deploy"}, {"version", "c.deploy"},
	{"versión", "c.deploy"}, {"versão", "c.deploy"}, {"wersj", "c.deploy"},
	{"верси", "c.deploy"}, {"hotfix", "c.deploy"}, {"build$", "c.deploy"}, {"attack", "c.sec"},
	/* learn-5: the tools and words of changes (and, below, more providers, facilities and
	 * process): 5-fold CV x8 on train, category 76.9% -> 77.6%, severity 63.1% -> 63.4% */
	{"terraform", "c.deploy"}, {"ansible", "c.deploy"}, {"puppet", "c.deploy"},
	{"jenkins", "c.deploy"}, {"spinnaker", "c.deploy"}, {"flux", "c.deploy"},
	{"kustomize", "c.deploy"}, {"merged", "c.deploy"}, {"commit", "c.deploy"},
	{"changelog", "c.deploy"}, {"config", "c.deploy"}, {"konfiguration", "c.deploy"},
	{"configuración", "c.deploy"}, {"configuração", "c.deploy"}, {"конфиг", "c.deploy"},
	{"konfiguracj", "c.deploy"}, {"flag$", "c.deploy"}, {"flags$", "c.deploy"},
	{"toggle", "c.deploy"}, {"shipped", "c.deploy"}, {"went out", "c.deploy"},
	{"pushed", "c.deploy"}, {"revert", "c.deploy"},
	{"angriff", "c.sec"}, {"ataque", "c.sec"}, {"attaque", "c.sec"}, {"atak", "c.sec"},
	{"атак", "c.sec"}, {"aanval", "c.sec"}, {"breach", "c.sec"}, {"intrusion", "c.sec"},
	{"intrusión", "c.sec"}, {"włamani", "c.sec"}, {"взлом", "c.sec"}, {"phishing", "c.sec"},
	{"malware", "c.sec"}, {"ransomware", "c.sec"}, {"exfiltrat", "c.sec"},
	{"credential", "c.sec"}, {"credencial", "c.sec"}, {"password", "c.sec"},
	{"passwort", "c.sec"}, {"mots passe", "c.sec"}, {"hasło", "c.sec"}, {"hasła", "c.sec"},
	{"пароль", "c.sec"}, {"vulnerab", "c.sec"}, {"cve", "c.sec"}, {"exploit", "c.sec"},
	{"brute", "c.sec"}, {"ddos", "c.sec"}, {"waf$", "c.sec"}, {"security", "c.sec"},
	{"sicherheit", "c.sec"}, {"seguridad", "c.sec"}, {"sécurité", "c.sec"},
	{"segurança", "c.sec"}, {"sicurezza", "c.sec"}, {"beveiliging", "c.sec"},
	{"bezpieczeńst", "c.sec"}, {"безопасн", "c.sec"}, {"unauthorized", "c.sec"},
	{"autorizado", "c.sec"}, {"suspicious", "c.sec"}, {"verdächtig", "c.sec"},
	{"sospechos", "c.sec"}, {"compromised", "c.sec"}, {"leak", "c.sec"}, {"leaked", "c.sec"},
	{"fuite", "c.sec"}, {"утечк", "c.sec"}, {"wyciek", "c.sec"}, {"filtrad", "c.sec"},
	{"secret", "c.sec"}, {"token$", "c.sec"}, {"api key", "c.sec"}, {"scan", "c.sec"},
	{"mfa$", "c.sec"}, {"2fa$", "c.sec"}, {"sso$", "c.sec"}, {"scraping", "c.sec"},
	{"bot$", "c.sec"}, {"provider", "c.dep"}, {"vendor", "c.dep"}, {"third", "c.dep"},
	{"upstream", "c.dep"}, {"external", "c.dep"}, {"externer", "c.dep"}, {"externo", "c.dep"},
	{"externe", "c.dep"}, {"anbieter", "c.dep"}, {"proveedor", "c.dep"},
	{"fournisseur", "c.dep"}, {"fornecedor", "c.dep"}, {"provedor", "c.dep"},
	{"fornitore", "c.dep"}, {"leverancier", "c.dep"}, {"dostawc", "c.dep"},
	{"поставщик", "c.dep"}, {"провайдер", "c.dep"}, {"stripe", "c.dep"}, {"paypal", "c.dep"},
	{"adyen", "c.dep"}, {"twilio", "c.dep"}, {"sendgrid", "c.dep"}, {"aws$", "c.dep"},
	{"azure", "c.dep"}, {"gcp$", "c.dep"}, {"cloudflare", "c.dep"}, {"fastly", "c.dep"},
	{"akamai", "c.dep"}, {"openai", "c.dep"}, {"github", "c.dep"}, {"npm$", "c.dep"},
	{"pypi", "c.dep"}, {"docker hub", "c.dep"}, {"saas", "c.dep"}, {"sdk$", "c.dep"},
	{"crm$", "c.dep"}, {"status page", "c.dep"}, {"statuspage", "c.dep"}, {"okta", "c.dep"},
	{"auth0", "c.dep"}, {"office", "c.other"}, {"büro", "c.other"}, {"oficina", "c.other"},
	{"mailgun", "c.dep"}, {"mailchimp", "c.dep"}, {"postmark", "c.dep"}, {"zendesk", "c.dep"},
	{"intercom", "c.dep"}, {"salesforce", "c.dep"}, {"hubspot", "c.dep"}, {"shopify", "c.dep"},
	{"klarna", "c.dep"}, {"braintree", "c.dep"}, {"mollie", "c.dep"}, {"avalara", "c.dep"},
	{"datadog", "c.dep"}, {"pagerduty", "c.dep"}, {"slack$", "c.dep"}, {"zoom$", "c.dep"},
	{"atlassian", "c.dep"}, {"gitlab", "c.dep"}, {"circleci", "c.dep"}, {"heroku", "c.dep"},
	{"vercel", "c.dep"}, {"netlify", "c.dep"}, {"hetzner", "c.dep"}, {"digitalocean", "c.dep"},
	{"ovh$", "c.dep"}, {"linode", "c.dep"}, {"firebase", "c.dep"}, {"apns$", "c.dep"},
	{"fcm$", "c.dep"}, {"mapbox", "c.dep"}, {"google maps", "c.dep"}, {"algolia", "c.dep"},
	{"segment$", "c.dep"}, {"acquirer", "c.dep"}, {"psp$", "c.dep"}, {"registrar", "c.dep"},
	{"cloud provider", "c.dep"}, {"cloudprovider", "c.dep"}, {"rate limit", "c.dep"},
	{"ratelimit", "c.dep"}, {"throttl", "c.dep"}, {"dienstleister", "c.dep"},
	{"prestataire", "c.dep"}, {"облачн", "c.dep"}, {"chmur", "c.dep"}, {"nube$", "c.dep"},
	{"nuvem", "c.dep"},
	{"facilities", "c.other"}, {"facility", "c.other"}, {"building", "c.other"},
	{"gebäude", "c.other"}, {"edificio", "c.other"}, {"bâtiment", "c.other"},
	{"здани", "c.other"}, {"budyn", "c.other"}, {"hvac", "c.other"}, {"crac", "c.other"},
	{"cooling", "c.other"}, {"generator", "c.other"}, {"water leak", "c.other"},
	{"fire alarm", "c.other"}, {"hurricane", "c.other"}, {"flood", "c.other"},
	{"holiday", "c.other"}, {"vacation", "c.other"}, {"handover", "c.other"},
	{"rota$", "c.other"}, {"sick", "c.other"}, {"legal", "c.other"}, {"audit", "c.other"},
	{"compliance", "c.other"}, {"access review", "c.other"},
	{"license", "c.other"}, {"licence", "c.other"}, {"kudos", "c.other"}, {"thanks", "c.other"},
	{"thank you", "c.other"}, {"laptop", "c.other"}, {"keyboard", "c.other"},
	{"headset", "c.other"}, {"toner", "c.other"}, {"badge", "c.other"}, {"desk$", "c.other"},
	{"how do", "c.other"}, {"how to", "c.other"}, {"what does", "c.other"},
	{"who owns", "c.other"}, {"wiki", "c.other"}, {"confluence", "c.other"},
	{"onboarding", "c.other"}, {"new joiner", "c.other"}, {"contractor", "c.other"},
	{"drill", "c.other"}, {"game day", "c.other"}, {"exercise", "c.other"},
	{"bureau", "c.other"}, {"escritório", "c.other"}, {"ufficio", "c.other"},
	{"kantoor", "c.other"}, {"biur", "c.other"}, {"офис", "c.other"}, {"meeting", "c.other"},
	{"reunión", "c.other"}, {"question", "c.other"}, {"frage", "c.other"},
	{"pregunta", "c.other"}, {"dúvida", "c.other"}, {"pytanie", "c.other"},
	{"вопрос", "c.other"}, {"request", "c.other"}, {"printer", "c.other"},
	{"coffee", "c.other"}, {"training", "c.other"}, {"on call", "c.other"},
	{"oncall", "c.other"}, {"runbook", "c.other"}, {"process", "c.other"},
	{"documentation", "c.other"}, {"dokumentac", "c.other"}, {"test$", "c.other"},

	{"datab", "c.db"}, {"domain", "c.net"}, {"ntp$", "c.net"}, {"firewall", "c.net"},
	{"etcd", "c.host"}, {"jvm$", "c.host"}, {"outofmemory", "c.host"}, {"metaspace", "c.host"},
	{"triage", "c.inject"}, {"ignore previous", "c.inject"}, {"ignore all", "c.inject"},
	{"reply with", "c.inject"}, {"respond with", "c.inject"}, {"classify", "c.inject"},
	{"instructions", "c.inject"}, {"you are", "c.inject"}, {"assistant", "c.inject"},
	{"mark this", "c.inject"}, {"set severity", "c.inject"}, {"prompt", "c.inject"},

	/* ---- impact: who is affected ---- */
	{"all user", "i.all"}, {"all customer", "i.all"}, {"every user", "i.all"},
	{"every customer", "i.all"}, {"everyone", "i.all"}, {"all services", "i.all"},
	{"all regions", "i.all"}, {"entire", "i.all"}, {"whole", "i.all"}, {"site down", "i.all"},
	{"completely", "i.all"}, {"fully down", "i.all"}, {"total", "i.all"}, {"outage", "i.all"},
	{"unavailable", "i.all"}, {"alle$", "i.all"}, {"todos$", "i.all"}, {"todas$", "i.all"},
	{"tous$", "i.all"}, {"toutes$", "i.all"}, {"tutti$", "i.all"}, {"tutte$", "i.all"},
	{"wszyscy", "i.all"}, {"wszystk", "i.all"}, {"все$", "i.all"}, {"всех$", "i.all"},
	{"весь$", "i.all"}, {"ausfall", "i.all"}, {"caída", "i.all"}, {"panne", "i.all"},
	{"awari", "i.all"}, {"сбой", "i.all"}, {"storing", "i.all"}, {"fuori servizio", "i.all"},
	{"fora ar", "i.all"}, {"offline", "i.all"}, {"unreachable", "i.all"},
	{"inaccesible", "i.all"}, {"inacessível", "i.all"}, {"inacessivel", "i.all"},
	{"irraggiungibile", "i.all"}, {"onbereikbaar", "i.all"}, {"недоступ", "i.all"},
	{"nicht erreichbar", "i.all"}, {"most user", "i.many"}, {"most customer", "i.many"},
	{"many user", "i.many"}, {"many customer", "i.many"}, {"majority", "i.many"},
	{"большинств", "i.many"}, {"większość", "i.many"}, {"mayoría", "i.many"},
	{"maioria", "i.many"}, {"mehrheit", "i.many"}, {"customers", "i.many"},
	{"kunden", "i.many"}, {"clientes", "i.many"}, {"clients", "i.many"}, {"klient", "i.many"},
	{"клиент", "i.many"}, {"klanten", "i.many"}, {"payment", "i.many"}, {"payments", "i.many"},
	{"zahlung", "i.many"}, {"pago", "i.many"}, {"pagamento", "i.many"}, {"paiement", "i.many"},
	{"płatnoś", "i.many"}, {"оплат", "i.many"}, {"платеж", "i.many"}, {"платёж", "i.many"},
	{"betaal", "i.many"}, {"orders", "i.many"}, {"bestellung", "i.many"}, {"pedidos", "i.many"},
	{"заказ", "i.many"}, {"zamówie", "i.many"}, {"signup", "i.many"}, {"sign", "i.many"},
	{"anmeld", "i.many"}, {"logowani", "i.many"}, {"вход$", "i.many"}, {"production", "i.prod"},
	{"prod$", "i.prod"}, {"produktion", "i.prod"}, {"producción", "i.prod"},
	{"produção", "i.prod"}, {"produzione", "i.prod"}, {"produkc", "i.prod"},
	{"продакшн", "i.prod"}, {"прод$", "i.prod"}, {"some user", "i.few"},
	{"some customer", "i.few"}, {"few user", "i.few"}, {"few customer", "i.few"},
	{"one customer", "i.few"}, {"single user", "i.few"}, {"one user", "i.few"},
	{"a few", "i.few"}, {"partial", "i.few"}, {"partially", "i.few"}, {"one host", "i.few"},
	{"one node", "i.few"}, {"single", "i.few"}, {"one team", "i.few"}, {"internal", "i.few"},
	{"intern", "i.few"}, {"interno", "i.few"}, {"interne", "i.few"}, {"внутренн", "i.few"},
	{"wewnętrzn", "i.few"}, {"einige", "i.few"}, {"algunos", "i.few"}, {"alguns", "i.few"},
	{"quelques", "i.few"}, {"alcuni", "i.few"}, {"niektór", "i.few"}, {"некоторы", "i.few"},
	{"sommige", "i.few"}, {"employees", "i.few"}, {"staging", "i.nonprod"},
	{"stage$", "i.nonprod"}, {"dev$", "i.nonprod"}, {"development", "i.nonprod"},
	{"sandbox", "i.nonprod"}, {"qa$", "i.nonprod"}, {"preprod", "i.nonprod"},
	{"test environment", "i.nonprod"}, {"testomgeving", "i.nonprod"},
	{"testumgebung", "i.nonprod"}, {"entorno pruebas", "i.nonprod"}, {"тестов", "i.nonprod"},
	{"no user", "i.none"}, {"no customer", "i.none"}, {"no impact", "i.none"},
	{"no production", "i.none"}, {"nobody", "i.none"}, {"cosmetic", "i.none"},
	{"typo", "i.none"}, {"tippfehler", "i.none"}, {"faute", "i.none"}, {"literówk", "i.none"},
	{"опечатк", "i.none"}, {"minor", "i.none"}, {"kleine", "i.none"}, {"petit", "i.none"},
	{"pequeño", "i.none"}, {"cosmétique", "i.none"}, {"footer", "i.none"},
	{"tooltip", "i.none"}, {"warning", "i.none"}, {"deprecat", "i.none"}, {"unused", "i.none"},
	{"cleanup", "i.none"}, {"clean up", "i.none"}, {"verbose", "i.none"}, {"noisy", "i.none"},
	{"duplicate", "i.none"}, {"data loss", "i.loss"}, {"lost data", "i.loss"},
	{"deleted", "i.loss"}, {"wiped", "i.loss"}, {"corrupt", "i.loss"}, {"corromp", "i.loss"},
	{"korrupt", "i.loss"}, {"beschädigt", "i.loss"}, {"gelöscht", "i.loss"},
	{"effacé", "i.loss"}, {"apagad", "i.loss"}, {"borrad", "i.loss"}, {"usunięt", "i.loss"},
	{"удален", "i.loss"}, {"потер", "i.loss"}, {"perdid", "i.loss"}, {"perte", "i.loss"},
	{"verlust", "i.loss"}, {"utrat", "i.loss"}, {"exposed", "i.loss"}, {"exfiltrat", "i.loss"},
	{"stolen", "i.loss"}, {"ransomware", "i.loss"}, {"other customers", "i.loss"},
	{"wrong customer", "i.loss"}, {"wrong addresses", "i.loss"}, {"money", "i.loss"},
	{"double charg", "i.loss"}, {"charged twice", "i.loss"}, {"slow", "i.degraded"},
	{"latency", "i.degraded"}, {"degraded", "i.degraded"}, {"degradation", "i.degraded"},
	{"intermittent", "i.degraded"}, {"sporadic", "i.degraded"}, {"occasional", "i.degraded"},
	{"flaky", "i.degraded"}, {"elevated", "i.degraded"}, {"langsam", "i.degraded"},
	{"lento", "i.degraded"}, {"lent$", "i.degraded"}, {"lente$", "i.degraded"},
	{"traag", "i.degraded"}, {"wolno", "i.degraded"}, {"powoln", "i.degraded"},
	{"медленн", "i.degraded"}, {"timeout", "i.degraded"}, {"timed out", "i.degraded"},

	/* ---- urgency: now, soon, a risk, or over ---- */
	{"down$", "u.now"}, {"is down", "u.now"}, {"ongoing", "u.now"}, {"in progress", "u.now"},
	{"right now", "u.now"}, {"currently", "u.now"}, {"still", "u.now"}, {"cannot", "u.now"},
	{"can't", "u.now"}, {"cant$", "u.now"}, {"failing", "u.now"}, {"broken", "u.now"},
	{"crash", "u.now"}, {"en cours", "u.now"}, {"en curso", "u.now"}, {"em andamento", "u.now"},
	{"läuft nicht", "u.now"}, {"funktioniert nicht", "u.now"}, {"nie działa", "u.now"},
	{"не работает", "u.now"}, {"не проходит", "u.now"}, {"no funciona", "u.now"},
	{"ne fonctionne", "u.now"}, {"não funciona", "u.now"}, {"non funziona", "u.now"},
	{"werkt niet", "u.now"}, {"firing", "u.now"}, {"triggered", "u.now"},
	{"expiring", "u.soon"}, {"expires", "u.soon"}, {"will expire", "u.soon"},
	{"filling", "u.soon"}, {"almost", "u.soon"}, {"nearly", "u.soon"},
	{"running out", "u.soon"}, {"predict", "u.soon"}, {"within", "u.soon"},
	{"in days", "u.soon"}, {"in hours", "u.soon"}, {"tomorrow", "u.soon"},
	{"läuft voll", "u.soon"}, {"läuft ab", "u.soon"}, {"expira", "u.soon"},
	{"expire$", "u.soon"}, {"wygasa", "u.soon"}, {"истекает", "u.soon"},
	{"redundancy", "u.risk"}, {"single point", "u.risk"}, {"one replica", "u.risk"},
	{"no failover", "u.risk"}, {"vulnerab", "u.risk"}, {"weakness", "u.risk"},
	{"outdated", "u.risk"}, {"unpatched", "u.risk"}, {"end of life", "u.risk"},
	{"eol$", "u.risk"}, {"backup failed", "u.risk"}, {"not configured", "u.risk"},
	{"missing", "u.risk"}, {"no alert", "u.risk"}, {"drill", "u.risk"}, {"resolved", "u.over"},
	{"recovered", "u.over"}, {"restored", "u.over"}, {"back to normal", "u.over"},
	{"mitigated", "u.over"}, {"succeeded", "u.over"}, {"completed", "u.over"},
	{"successful", "u.over"}, {"maintenance", "u.over"}, {"scheduled", "u.over"},
	{"planned", "u.over"}, {"reminder", "u.over"}, {"fyi", "u.over"}, {"heads up", "u.over"},
	{"next sprint", "u.over"}, {"next week", "u.over"}, {"next quarter", "u.over"},
	{"can wait", "u.over"}, {"no rush", "u.over"}, {"when convenient", "u.over"},
	{"low priority", "u.over"}, {"nice to have", "u.over"}, {"wartung", "u.over"},
	{"mantenimiento", "u.over"}, {"maintenance", "u.over"}, {"manutenção", "u.over"},
	{"manutenzione", "u.over"}, {"onderhoud", "u.over"}, {"konserwac", "u.over"},
	{"обслуживан", "u.over"}, {"erinnerung", "u.over"}, {"recordatorio", "u.over"},
	{"rappel", "u.over"}, {"lembrete", "u.over"}, {"promemoria", "u.over"},
	{"herinnering", "u.over"}, {"przypomnien", "u.over"}, {"напоминан", "u.over"},
	{"behoben", "u.over"}, {"resuelto", "u.over"}, {"résolu", "u.over"},
	{"resolvido", "u.over"}, {"risolto", "u.over"}, {"opgelost", "u.over"},
	{"rozwiązan", "u.over"}, {"решен", "u.over"}, {"postmortem", "u.over"}, {"retro", "u.over"},
	{"proposal", "u.over"}, {"idea", "u.over"}, {"suggestion", "u.over"},
	{NULL, NULL},
};

/* Japanese and Chinese: a cue when the run contains the string. */
static const cue_entry cjk_cues[] = {
	{"データベース", "c.db"}, {"DB", "c.db"}, {"レプリケーション", "c.db"}, {"クエリ", "c.db"},
	{"ディスク", "c.disk"}, {"ストレージ", "c.disk"}, {"容量", "c.disk"}, {"バックアップ", "c.backup"},
	{"ネットワーク", "c.net"}, {"遅延", "i.degraded"}, {"証明書", "c.cert"}, {"サーバー", "c.host"},
	{"サーバ", "c.host"}, {"メモリ", "c.host"}, {"エラー", "c.app"}, {"画面", "c.app"}, {"アプリ", "c.app"},
	{"ログイン", "c.app"}, {"デプロイ", "c.deploy"}, {"リリース", "c.deploy"}, {"更新", "c.deploy"},
	{"攻撃", "c.sec"}, {"不正", "c.sec"}, {"脆弱性", "c.sec"}, {"セキュリティ", "c.sec"}, {"漏洩", "c.sec"},
	{"流出", "i.loss"}, {"外部", "c.dep"}, {"クラウド", "c.dep"}, {"会議", "c.other"}, {"質問", "c.other"},
	{"全", "i.all"}, {"停止", "i.all"}, {"障害", "u.now"}, {"ダウン", "i.all"}, {"一部", "i.few"},
	{"本番", "i.prod"}, {"顧客", "i.many"}, {"支払", "i.many"}, {"決済", "i.many"}, {"消失", "i.loss"},
	{"削除", "i.loss"}, {"遅い", "i.degraded"}, {"不足", "u.soon"}, {"期限", "u.soon"},
	{"メンテナンス", "u.over"}, {"復旧", "u.over"}, {"解決", "u.over"}, {"予定", "u.over"},
	{NULL, NULL},
};

/* Whether token t (len bytes) matches pattern p (plen bytes; a trailing '$': whole). */
static bool word_match(const char *p, size_t plen, const char *t, size_t len)
{
	if (plen > 0 && p[plen - 1] == '$')
		return plen - 1 == len && memcmp(p, t, len) == 0;
	return len >= plen && memcmp(p, t, plen) == 0;
}

#define NWORD_CUES (sizeof word_cues / sizeof word_cues[0] - 1)

/* The word lexicon indexed by the first byte of an entry's last word (the token's first
 * byte must equal it), each bucket in table order, with the entry's split and lengths:
 * a token is compared with the few entries of its bucket, not all of them (the scan of
 * every entry was a third of an enricher's CPU at 1,200 triages/s). Built once. */
static struct {
	uint16_t first[257];        /* bucket b: order[first[b] .. first[b + 1]) */
	uint16_t order[NWORD_CUES]; /* entry indices */
	uint8_t fl[NWORD_CUES];     /* bytes of the first word of a pair; 0 for one word */
	uint8_t ll[NWORD_CUES];     /* bytes of the (last) word pattern, '$' included */
} cue_index;
static pthread_once_t cue_index_once = PTHREAD_ONCE_INIT;

static void cue_index_build(void)
{
	unsigned char key[NWORD_CUES];
	uint16_t count[257] = {0};
	for (size_t i = 0; i < NWORD_CUES; i++) {
		const char *w = word_cues[i].words, *sp = strchr(w, ' ');
		const char *last = sp ? sp + 1 : w;
		cue_index.fl[i] = (uint8_t)(sp ? sp - w : 0);
		cue_index.ll[i] = (uint8_t)strlen(last);
		key[i] = (unsigned char)last[0];
		count[key[i] + 1]++;
	}
	for (int b = 0; b < 256; b++)
		count[b + 1] += count[b];
	memcpy(cue_index.first, count, sizeof count);
	for (size_t i = 0; i < NWORD_CUES; i++) /* stable: table order within a bucket */
		cue_index.order[count[key[i]]++] = (uint16_t)i;
}

size_t learn_cues_word(const learn_cue_prev *prev, const char *tok, size_t len, const char **cues,
		       size_t cap)
{
	size_t n = 0;
	if (len == 0)
		return 0;
	pthread_once(&cue_index_once, cue_index_build);
	unsigned char b = (unsigned char)tok[0];
	for (uint16_t o = cue_index.first[b]; o < cue_index.first[b + 1] && n < cap; o++) {
		size_t i = cue_index.order[o], fl = cue_index.fl[i];
		const cue_entry *e = &word_cues[i];
		if (fl == 0) {
			if (word_match(e->words, cue_index.ll[i], tok, len))
				cues[n++] = e->cue;
			continue;
		}
		bool first = false; /* the first word one or two words back ("base de datos") */
		for (int k = 0; k < 2 && !first; k++)
			first = prev->len[k] == fl && memcmp(prev->tok[k], e->words, fl) == 0;
		if (first && word_match(e->words + fl + 1, cue_index.ll[i], tok, len))
			cues[n++] = e->cue;
	}
	return n;
}

size_t learn_cues_cjk(const char *run, size_t len, const char **cues, size_t cap)
{
	size_t n = 0;
	for (const cue_entry *e = cjk_cues; e->words && n < cap; e++) {
		size_t pl = strlen(e->words);
		for (size_t i = 0; i + pl <= len; i++)
			if (memcmp(run + i, e->words, pl) == 0) {
				cues[n++] = e->cue;
				break;
			}
	}
	return n;
}
