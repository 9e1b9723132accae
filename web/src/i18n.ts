// English and Russian text: the English sentence is the key, ru maps it;
// amounts and dates are formatted for the language (Intl).
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

export type Lang = "en" | "ru";

const ru: Record<string, string> = {
  "Dashboard": "Обзор", "Links": "Ссылки", "Statistics": "Статистика", "Your referrals": "Ваши рефералы",
  "Remuneration": "Вознаграждение", "Payouts and spends": "Выплаты и списания", "Sign out": "Выйти",
  "Rules": "Правила", "Partners": "Партнёры", "Closes": "Закрытие периодов", "Payouts": "Выплаты", "Audit": "Аудит",
  "Partner's cabinet": "Кабинет партнёра", "Admin console": "Консоль администратора",
  "Sign in": "Войти", "Program": "Программа", "Partner": "Партнёр", "Role": "Роль", "Admin": "Администратор",
  "Auditor": "Аудитор", "API key": "API-ключ", "Leave empty on a server without API keys.": "Оставьте пустым, если сервер работает без API-ключей.",
  "Or open the sign-in link you were sent.": "Или откройте присланную вам ссылку для входа.",
  "Pending": "В ожидании", "Accrued": "Начислено", "Payable": "К выплате", "In payout": "В выплате",
  "Progress to the payout minimum": "До минимальной выплаты", "{a} of {b}": "{a} из {b}",
  "This month": "Этот месяц", "Clicks": "Клики", "Orders": "Заказы", "Conversion": "Конверсия", "Commission": "Комиссия",
  "Commission by month": "Комиссия по месяцам", "Loading…": "Загрузка…", "Nothing yet.": "Пока ничего нет.",
  "Your code": "Ваш код", "Landing page": "Целевая страница", "UTM source": "UTM source", "UTM medium": "UTM medium",
  "UTM campaign": "UTM campaign", "Build the link": "Создать ссылку", "Copy": "Копировать", "Copied": "Скопировано",
  "Referral link builder": "Конструктор реферальных ссылок", "Month": "Месяц", "Source": "Источник",
  "Unique visitors": "Уникальные посетители", "Revenue": "Выручка", "(no source)": "(без источника)",
  "By advertising source": "По рекламным источникам", "Joined": "Присоединился", "Level": "Уровень", "Status": "Статус",
  "active": "активен", "suspended": "приостановлен", "Period": "Период", "Released": "Выпущено", "Due": "Срок",
  "final": "окончательная", "preliminary": "предварительная", "Statement": "Выписка", "Download CSV": "Скачать CSV",
  "Download PDF": "Скачать PDF", "Date": "Дата", "Kind": "Тип", "Description": "Описание", "Amount": "Сумма",
  "Order": "Заказ", "Opening": "Начало", "Closing": "Конец", "Spends": "Списания", "Method": "Способ",
  "pending": "в обработке", "settled": "выплачено", "failed": "не прошла", "Reference": "Референс",
  "Save a new version": "Сохранить новую версию", "The document is valid.": "Документ корректен.",
  "line {n}": "строка {n}", "Simulate an order": "Симуляция заказа", "Product": "Товар", "Shipping": "Доставка",
  "Add a line": "Добавить строку", "Simulate": "Рассчитать", "Rate": "Ставка", "Where it comes from": "Откуда",
  "Sales": "Продажи", "Rules version": "Версия правил", "Tier": "Уровень", "Upline": "Вышестоящие",
  "Search": "Поиск", "Register a partner": "Зарегистрировать партнёра", "Code": "Код", "Parent": "Родитель",
  "E-mail": "E-mail", "Register": "Зарегистрировать", "Suspend": "Приостановить", "Activate": "Активировать",
  "Close a period": "Закрыть период", "Close": "Закрыть", "Partners done": "Партнёров обработано",
  "Statements": "Выписки", "Closed": "Закрыт", "already closed": "уже закрыт",
  "Everyone payable at or above the minimum": "Все, кому положена выплата (не меньше минимума)",
  "Pay selected": "Выплатить выбранным", "Pay all": "Выплатить всем", "Export CSV": "Экспорт CSV",
  "Settle": "Проведена", "Fail": "Отклонить", "Pending payouts": "Выплаты в обработке", "Bank account": "Счёт",
  "Trial balance": "Оборотно-сальдовая ведомость", "Account": "Счёт", "Balance": "Остаток", "Verify the journal": "Проверить журнал",
  "The journal verifies.": "Журнал проверен.", "Checked {t} transactions, {a} accounts, {s} statements.": "Проверено транзакций: {t}, счетов: {a}, выписок: {s}.",
  "Total debits": "Итого дебет", "Total credits": "Итого кредит", "Saved version {v}.": "Сохранена версия {v}.",
  "Paid {n} partners.": "Выплачено партнёрам: {n}.", "Select": "Выбрать", "Saved.": "Сохранено.",
  "Nobody is payable.": "Выплачивать некому.",
  "Promo materials": "Промо-материалы", "Send a request for a client": "Отправить заявку на клиента", "Settings": "Настройки",
  "earns no commission": "без комиссии", "Banner": "Баннер", "Text": "Текст", "Link": "Ссылка", "HTML snippet": "HTML-код",
  "Request {id} sent.": "Заявка {id} отправлена.", "The shop contacts the client; the order is credited to you.": "Магазин свяжется с клиентом; заказ будет засчитан вам.",
  "Client's name": "Имя клиента", "E-mail or phone": "E-mail или телефон", "Note": "Примечание", "Send": "Отправить",
  "Your requests": "Ваши заявки", "Request": "Заявка", "History of changes": "История изменений", "By": "Кем",
  "Changed": "Изменено", "partner": "партнёр", "admin": "администратор", "Contact name": "Контактное лицо", "Bank name": "Банк",
  "Nothing changed.": "Ничего не изменилось.", "Contact and bank details": "Контакты и банковские реквизиты",
  "Only you and the program's admins see these.": "Их видите только вы и администраторы программы.", "Save": "Сохранить",
  "Income from referral program from {login}": "Доход по реферальной программе от {login}",
  "Products and materials": "Товары и материалы", "Webhooks": "Вебхуки", "Participates": "Участвует",
  "Shown to partners": "Виден партнёрам", "Materials": "Материалы", "Add a product": "Добавить товар", "Name": "Название",
  "Material": "Материал", "Title": "Заголовок", "Delete": "Удалить", "Add a material": "Добавить материал",
  "{code} in the URL or the snippet becomes the partner's code.": "{code} в URL или HTML-коде заменяется кодом партнёра.",
  "Save the material": "Сохранить материал", "Add an endpoint": "Добавить адрес", "Event types (all when empty)": "Типы событий (пусто — все)",
  "Add": "Добавить", "Signing secret (shown once):": "Секрет подписи (показывается один раз):", "Event types": "Типы событий",
  "all": "все", "paused": "приостановлен", "Created": "Создан", "Resume": "Возобновить", "Pause": "Приостановить",
  "Deliveries": "Доставки", "Queued again.": "Поставлено в очередь снова.", "Refresh": "Обновить", "Queued": "В очереди с",
  "Event": "Событие", "Attempts": "Попытки", "Redeliver": "Отправить снова", "succeeded": "доставлено",
  "Sign-in link": "Ссылка для входа", "Sign-in link for {p}, single use, valid until {t}:": "Ссылка для входа партнёра {p}, одноразовая, действует до {t}:",
  "Showing {n} of {m}; search to narrow.": "Показано {n} из {m}; уточните поиск.",
  "{n} accounts with a zero balance are not shown.": "Счета с нулевым остатком не показаны: {n}.",
};

let lang: Lang = (localStorage.getItem("accrue.lang") as Lang) || (navigator.language.startsWith("ru") ? "ru" : "en");

export function currentLang(): Lang { return lang; }

export function setLang(l: Lang) {
  lang = l;
  localStorage.setItem("accrue.lang", l);
  document.documentElement.lang = l;
}

/** The text of key in the current language, with {name} filled in. */
export function t(key: string, args: Record<string, string | number> = {}): string {
  const s = (lang === "ru" && ru[key]) || key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(args[k] ?? ""));
}

/**
 * An amount (a decimal string, as the API gives it) in the currency. The
 * string goes to Intl as is: no float.
 */
export function money(amount: string | undefined, currency = ""): string {
  if (amount === undefined || amount === "") return "";
  const decimals = (amount.split(".")[1] ?? "").length;
  const opts: Intl.NumberFormatOptions = currency
    ? { style: "currency", currency, minimumFractionDigits: decimals, maximumFractionDigits: decimals }
    : { minimumFractionDigits: decimals, maximumFractionDigits: decimals };
  return new Intl.NumberFormat(lang, opts).format(amount as Intl.StringNumericLiteral);
}

/** A count. */
export function count(n: number | bigint): string {
  return new Intl.NumberFormat(lang).format(n);
}

/** A ratio as a percent. */
export function percent(part: number, whole: number): string {
  return whole === 0 ? "—" : new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 }).format(part / whole);
}

/** A timestamp's date and time. */
export function dateTime(ts: Timestamp | undefined): string {
  return ts ? new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(timestampDate(ts)) : "";
}

/** A timestamp's date. */
export function date(ts: Timestamp | undefined): string {
  return ts ? new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(timestampDate(ts)) : "";
}

/** A period "2026-01" as "Jan 2026". */
export function month(period: string): string {
  const [y, m] = period.split("-").map(Number);
  return new Intl.DateTimeFormat(lang, { month: "short", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, 1)));
}
